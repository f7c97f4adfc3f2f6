import type { RequestInfo } from "../../domain/auth/auth-service.ts";
import { isDomainError } from "../../domain/errors.ts";
import { csrfInput } from "../pages/csrf.ts";
import { type Html, html } from "../pages/html.ts";

export const PASSKEY_SIGN_IN_PATH = "/signin/passkey";

/** A ceremony the server began: its id, and the request options for navigator.credentials.get(). */
export interface BegunPasskeyCeremony {
  readonly ceremonyId: string;
  /** PublicKeyCredentialRequestOptionsJSON. */
  readonly optionsJson: string;
}

/**
 * The passkey sign-in the hosted pages run: AuthService's, the code behind Begin/FinishPasskeySignIn.
 * An empty MFA token begins a passwordless sign-in (discoverable credentials); a Login's MFA token,
 * the passkey as that sign-in's second step. Absent when passkeys are off.
 */
export interface PasskeySignIn {
  beginPasskeySignIn(
    input: { readonly mfaToken: string },
    request: RequestInfo,
  ): Promise<BegunPasskeyCeremony>;
  finishPasskeySignIn(
    input: { readonly ceremonyId: string; readonly credentialJson: string },
    request: RequestInfo,
  ): Promise<{ readonly sessionId: string }>;
}

/**
 * The passkey form: hidden until the script (passkey-ceremony.js) finds WebAuthn, asks the
 * authenticator with the options begun at render time, and posts its answer with the CSRF token
 * like any other form. `autofill` also offers the passkeys in the login field's autofill
 * (conditional mediation) for a passwordless sign-in.
 */
export function passkeyForm(options: {
  readonly ceremony: BegunPasskeyCeremony;
  readonly csrfToken: string;
  readonly hidden: Html;
  readonly button: string;
  readonly autofill: boolean;
  /** An "or" between it and the form above (none when it is the only way on). */
  readonly separator: boolean;
}): Html {
  return html`<form method="post" action="${PASSKEY_SIGN_IN_PATH}" class="passkey" aria-label="${options.button}" data-passkey-options="${options.ceremony.optionsJson}" data-passkey-autofill="${options.autofill ? "true" : "false"}" hidden>
${csrfInput(options.csrfToken)}
${options.hidden}
<input type="hidden" name="ceremony_id" value="${options.ceremony.ceremonyId}">
<input type="hidden" name="credential_json" value="">
${options.separator ? html`<p class="or">or</p>` : ""}
<button type="button" data-passkey-start${options.separator ? "" : html` autofocus`}>${options.button}</button>
<p class="error" role="alert" data-passkey-error></p>
</form>`;
}

/**
 * What a refused passkey tells the person: to try again or use the password, never which check
 * failed (an unknown credential, a bad signature and a cloned authenticator read alike).
 */
export function passkeyFailureMessage(error: unknown): { status: number; message: string } | undefined {
  if (!isDomainError(error)) return undefined;
  if (error.kind === "unauthenticated" && error.reason !== "invalid_mfa_token") {
    return {
      status: 401,
      message: "That passkey was not accepted. Try another passkey, or use your password.",
    };
  }
  if (error.kind === "not_found") {
    return { status: 400, message: "The passkey request expired or was already used. Try again." };
  }
  if (error.kind === "failed_precondition") {
    return { status: 400, message: "Passkeys cannot be used here. Use your password." };
  }
  return undefined;
}
