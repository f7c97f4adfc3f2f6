// The hosted pages' shell: import from here.
export { type Branding, contrast, type Palette, paletteOf } from "./branding.ts";
export { appendSetCookie, cookieHeader, readCookies } from "./cookies.ts";
export { CSRF_FIELD, CsrfGuard, type CsrfKeys, csrfInput, fixedCsrfKeys } from "./csrf.ts";
export {
  errorSummary,
  type FieldSpec,
  FocusPlan,
  FormError,
  type FormErrors,
  field,
  fieldId,
  hasErrors,
  NO_ERRORS,
  readForm,
  submitButton,
} from "./form.ts";
export { escapeHtml, Html, type HtmlValue, html, joinHtml } from "./html.ts";
export { type PageHandlers, type PageRequest, pageRoute } from "./page-route.ts";
export { type PageContent, PageShell } from "./page-shell.ts";
export { safeReturnTo, withReturnTo } from "./return-to.ts";
export { contentSecurityPolicy, type PagePolicy, setPageHeaders } from "./security-headers.ts";
