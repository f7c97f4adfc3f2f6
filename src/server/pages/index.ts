/**
 * The hosted pages' shell. A page is a plain route built with `pageRoute(shell, logger, { get, post })`:
 * - `post` runs only after the form's CSRF token verified (403 page otherwise), so a form handler
 *   never checks it itself; put `csrfInput(await shell.csrf.issue(request, response))` in each form.
 * - Render with `shell.send(request, response, { title, lede, body: html`…`, after, status, policy })`;
 *   every interpolation in `html` is escaped. `policy.extraFormActions` lists origins a form's POST
 *   may redirect to (CSP form-action governs those redirects, e.g. a client's redirect_uri).
 * - Fields: `field(spec, errors, focusPlan)` and `errorSummary(errors, labels)`; name fields like
 *   the proto fields so a DomainError's violations land next to them (src/web/form-errors.ts).
 * - Links to sign-in carry `return_to` only through `safeReturnTo` / `withReturnTo`.
 * src/web/signup-page.ts is a complete example.
 */
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
