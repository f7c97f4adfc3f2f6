import { ForgotPasswordRequestSchema } from "../gen/gatehouse/v1/auth_pb.js";
import type { HttpHandler } from "../server/http-handler.ts";
import { csrfInput } from "../server/pages/csrf.ts";
import {
  errorSummary,
  FocusPlan,
  type FormErrors,
  field,
  hasErrors,
  NO_ERRORS,
  submitButton,
} from "../server/pages/form.ts";
import { html } from "../server/pages/html.ts";
import { type PageRequest, pageRoute } from "../server/pages/page-route.ts";
import { formErrorsFrom, retryAfterSeconds, statusOfError } from "./form-errors.ts";
import { type HostedPageDeps, requestInfo, spendRateLimit } from "./hosted-page-deps.ts";
import { checkAsRequest } from "./request-checks.ts";
import { returnToInput, returnToOf, signInHref, signInPrompt } from "./sign-in-link.ts";

export const FORGOT_PASSWORD_PATH = "/forgot-password";

const FORGOT_PASSWORD_RPC = "gatehouse.v1.AuthService/ForgotPassword";

/**
 * `/forgot-password`: AuthService.ForgotPassword as a form, with its rate
 * limits (per IP and per address) and its answer, which is the same whether
 * or not an account uses the address (the domain also evens out the timing).
 */
export function forgotPasswordPage(deps: HostedPageDeps): HttpHandler {
  const { shell } = deps;

  async function form(
    page: PageRequest,
    email: string,
    errors: FormErrors,
    returnTo: string | undefined,
    status = 200,
  ) {
    const token = await shell.csrf.issue(page.request, page.response);
    const spec = {
      name: "email",
      label: "Email address",
      type: "email" as const,
      autocomplete: "email",
      inputMode: "email" as const,
      value: email,
      maxLength: 254,
      autofocus: true,
    };
    shell.send(page.request, page.response, {
      status,
      title: "Forgot your password?",
      lede: "Enter the email address of your account and we will mail you a link to choose a new password.",
      body: html`${errorSummary(errors, new Map([["email", spec.label]]))}
<form method="post" action="${FORGOT_PASSWORD_PATH}" novalidate>
${csrfInput(token)}${returnToInput(returnTo)}
${field(spec, errors, new FocusPlan(errors, ["email"]))}
${submitButton("Send the link")}
</form>`,
      after: signInPrompt("Remembered it?", returnTo),
    });
  }

  return pageRoute(shell, deps.logger, {
    get: (page) => form(page, "", NO_ERRORS, returnToOf(page.query)),
    post: async (page, submitted) => {
      const returnTo = returnToOf(submitted);
      const email = (submitted.get("email") ?? "").trim();
      const invalid = checkAsRequest(ForgotPasswordRequestSchema, { email });
      if (hasErrors(invalid)) {
        return form(
          page,
          email,
          { fields: new Map([["email", "enter an email address such as name@example.com"]]), form: [] },
          returnTo,
          400,
        );
      }
      try {
        await spendRateLimit(deps, page, FORGOT_PASSWORD_RPC, email);
        await deps.auth.forgotPassword(email, requestInfo(deps, page));
      } catch (error) {
        const retry = retryAfterSeconds(error);
        if (retry !== undefined) page.response.setHeader("retry-after", String(retry));
        return form(page, email, formErrorsFrom(error), returnTo, statusOfError(error));
      }
      shell.send(page.request, page.response, {
        title: "Check your mail",
        body: html`<div class="notice" role="status"><p>If an account uses <strong>${email}</strong>, a link to choose a new password is on its way. It works once, for a limited time.</p></div>
<p>No mail after a few minutes? Check your spam folder, or <a href="${FORGOT_PASSWORD_PATH}">ask again</a>.</p>
<a class="button" href="${signInHref(returnTo)}">Back to sign-in</a>`,
      });
    },
  });
}
