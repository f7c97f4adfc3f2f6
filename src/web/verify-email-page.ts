import { isDomainError } from "../domain/errors.ts";
import { VerifyEmailRequestSchema } from "../gen/gatehouse/v1/auth_pb.js";
import type { HttpHandler } from "../server/http-handler.ts";
import { hasErrors } from "../server/pages/form.ts";
import { html } from "../server/pages/html.ts";
import { type PageRequest, pageRoute } from "../server/pages/page-route.ts";
import { retryAfterSeconds, sentence, statusOfError } from "./form-errors.ts";
import { type HostedPageDeps, requestInfo, spendRateLimit } from "./hosted-page-deps.ts";
import { checkAsRequest } from "./request-checks.ts";
import { signInHref } from "./sign-in-link.ts";

/** Where the mailed verification link points (EMAIL_VERIFICATION_URL's default). */
export const VERIFY_EMAIL_PATH = "/verify-email";

const VERIFY_EMAIL_RPC = "gatehouse.v1.AuthService/VerifyEmail";

/**
 * `GET /verify-email?token=…`: the mailed link verifies on opening, through
 * the domain's VerifyEmail. A GET that changes state is deliberate here: the
 * token only proves that the mail reached the mailbox, so a mail scanner
 * opening the link first proves the same thing, and nothing can be forged
 * without the token (unlike a reset link, which opens a form).
 */
export function verifyEmailPage(deps: HostedPageDeps): HttpHandler {
  const { shell } = deps;
  const failure = (page: PageRequest, status: number, message: string) =>
    shell.send(page.request, page.response, {
      status,
      title: "Your email address is not confirmed",
      body: html`<div class="notice failure" role="alert"><p>${message}</p></div>
<p>Verification links work once and for a limited time. Sign in to have a new one sent, or ask your administrator.</p>
<a class="button" href="${signInHref(undefined)}">Go to sign-in</a>`,
    });

  return pageRoute(shell, deps.logger, {
    get: async (page) => {
      const token = (page.query.get("token") ?? "").trim();
      if (hasErrors(checkAsRequest(VerifyEmailRequestSchema, { token }))) {
        return failure(page, 400, "The link is incomplete: open it from the mail again, all of it.");
      }
      try {
        await spendRateLimit(deps, page, VERIFY_EMAIL_RPC);
        await deps.auth.verifyEmail(token, requestInfo(deps, page));
      } catch (error) {
        if (!isDomainError(error) || error.kind === "unavailable" || error.kind === "internal") throw error;
        const retry = retryAfterSeconds(error);
        if (retry !== undefined) page.response.setHeader("retry-after", String(retry));
        return failure(page, statusOfError(error), sentence(error.message));
      }
      shell.send(page.request, page.response, {
        title: "Your email address is confirmed",
        body: html`<div class="notice" role="status"><p>Thank you. You can now sign in.</p></div>
<a class="button" href="${signInHref(undefined)}">Sign in</a>`,
      });
    },
  });
}
