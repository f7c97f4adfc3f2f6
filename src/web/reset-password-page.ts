import { ResetPasswordRequestSchema } from "../gen/gatehouse/v1/auth_pb.js";
import type { HttpHandler } from "../server/http-handler.ts";
import { csrfInput } from "../server/pages/csrf.ts";
import {
  errorSummary,
  type FieldSpec,
  FocusPlan,
  type FormErrors,
  field,
  hasErrors,
  NO_ERRORS,
  submitButton,
} from "../server/pages/form.ts";
import { html } from "../server/pages/html.ts";
import { type PageRequest, pageRoute } from "../server/pages/page-route.ts";
import { FORGOT_PASSWORD_PATH } from "./forgot-password-page.ts";
import { formErrorsFrom, retryAfterSeconds, sentence, statusOfError } from "./form-errors.ts";
import { type HostedPageDeps, requestInfo, spendRateLimit } from "./hosted-page-deps.ts";
import { checkAsRequest } from "./request-checks.ts";
import { signInHref } from "./sign-in-link.ts";

/** Seed 003's page: where the mailed reset (and invitation) link points unless PASSWORD_RESET_URL says otherwise. */
export const RESET_PASSWORD_PATH = "/reset-password";

const RESET_PASSWORD_RPC = "gatehouse.v1.AuthService/ResetPassword";

/**
 * `/reset-password?token=…`: a plain form (no script) posting the token and the
 * new password to the domain's ResetPassword, CSRF-protected and rate limited
 * like the RPC. The token rides in a hidden field; the page sends no Referer
 * and is never cached. A bad token is reported once the form is sent: the
 * domain checks the policy first, so a weak password never uses a token up.
 */
export function resetPasswordPage(deps: HostedPageDeps): HttpHandler {
  const { shell } = deps;
  const specs: FieldSpec[] = [
    {
      name: "new_password",
      label: "New password",
      type: "password",
      autocomplete: "new-password",
      hint: deps.passwordPolicy.summary(),
      maxLength: 256,
      autofocus: true,
    },
    {
      name: "confirm_password",
      label: "Repeat the new password",
      type: "password",
      autocomplete: "new-password",
      maxLength: 256,
    },
  ];
  const labels = new Map(specs.map((spec) => [spec.name, spec.label]));

  async function form(page: PageRequest, resetToken: string, errors: FormErrors, status = 200) {
    if (resetToken === "") return incompleteLink(page);
    const token = await shell.csrf.issue(page.request, page.response);
    const focus = new FocusPlan(
      errors,
      specs.map((spec) => spec.name),
    );
    shell.send(page.request, page.response, {
      status,
      title: "Choose a new password",
      lede: "Setting it signs your account out everywhere it is signed in.",
      body: html`${errorSummary(errors, labels)}
<form method="post" action="${RESET_PASSWORD_PATH}" novalidate>
${csrfInput(token)}<input type="hidden" name="reset_token" value="${resetToken}">
${specs.map((spec) => field(spec, errors, focus))}
${submitButton("Set new password")}
</form>`,
    });
  }

  function incompleteLink(page: PageRequest, message?: string) {
    shell.send(page.request, page.response, {
      status: 400,
      title: "This reset link does not work",
      body: html`<div class="notice failure" role="alert"><p>${message ?? "The link is incomplete: open it from the mail again, all of it."}</p></div>
<p>Links work once and for a limited time. You can ask for a new one.</p>
<a class="button" href="${FORGOT_PASSWORD_PATH}">Get a new link</a>`,
    });
  }

  return pageRoute(shell, deps.logger, {
    get: (page) => form(page, (page.query.get("token") ?? "").trim(), NO_ERRORS),
    post: async (page, submitted) => {
      const resetToken = (submitted.get("reset_token") ?? "").trim();
      const newPassword = submitted.get("new_password") ?? "";
      if (newPassword !== (submitted.get("confirm_password") ?? "") && newPassword !== "") {
        return form(
          page,
          resetToken,
          { fields: new Map([["confirm_password", "the two passwords differ"]]), form: [] },
          400,
        );
      }
      const invalid = checkAsRequest(ResetPasswordRequestSchema, { resetToken, newPassword });
      if (invalid.fields.has("reset_token")) return incompleteLink(page);
      if (hasErrors(invalid)) return form(page, resetToken, invalid, 400);
      try {
        await spendRateLimit(deps, page, RESET_PASSWORD_RPC);
        await deps.auth.resetPassword({ resetToken, newPassword }, requestInfo(deps, page));
      } catch (error) {
        const errors = formErrorsFrom(error);
        const tokenProblem = errors.fields.get("reset_token");
        if (tokenProblem !== undefined) return incompleteLink(page, sentence(tokenProblem));
        const retry = retryAfterSeconds(error);
        if (retry !== undefined) page.response.setHeader("retry-after", String(retry));
        return form(page, resetToken, errors, statusOfError(error));
      }
      shell.send(page.request, page.response, {
        title: "Your password is set",
        body: html`<div class="notice" role="status"><p>Sign in with your new password. Any other session of your account has been ended.</p></div>
<a class="button" href="${signInHref(undefined)}">Sign in</a>`,
      });
    },
  });
}
