import type { HttpHandler } from "../server/http-handler.ts";
import { FORGOT_PASSWORD_PATH, forgotPasswordPage } from "./forgot-password-page.ts";
import type { HostedPageDeps } from "./hosted-page-deps.ts";
import { RESET_PASSWORD_PATH, resetPasswordPage } from "./reset-password-page.ts";
import { SIGNUP_PATH, signUpPage } from "./signup-page.ts";
import { VERIFY_EMAIL_PATH, verifyEmailPage } from "./verify-email-page.ts";

/** The hosted account pages as exact plain routes (sign-up only when it is enabled). */
export function hostedPageRoutes(deps: HostedPageDeps): Array<[string, HttpHandler]> {
  return [
    ...(deps.signupEnabled ? ([[SIGNUP_PATH, signUpPage(deps)]] as Array<[string, HttpHandler]>) : []),
    [FORGOT_PASSWORD_PATH, forgotPasswordPage(deps)],
    [RESET_PASSWORD_PATH, resetPasswordPage(deps)],
    [VERIFY_EMAIL_PATH, verifyEmailPage(deps)],
  ];
}
