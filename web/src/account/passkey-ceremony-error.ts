import { WebAuthnError } from "@simplewebauthn/browser";

/**
 * What the browser's refusal of a WebAuthn ceremony means to the person. The browser says little
 * on purpose (NotAllowedError covers "cancelled", "timed out" and "no matching passkey"), so the
 * messages say what to try next.
 */
export function describeCeremonyError(error: unknown): string {
  const code = error instanceof WebAuthnError ? error.code : undefined;
  const name = error instanceof Error ? error.name : "";
  if (code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED" || name === "InvalidStateError") {
    return "This authenticator already holds a passkey for your account.";
  }
  if (code === "ERROR_CEREMONY_ABORTED" || name === "AbortError") return "The passkey request was cancelled.";
  if (name === "NotAllowedError") {
    return "The passkey request was cancelled or timed out. Try again when your device asks.";
  }
  if (name === "SecurityError" || code === "ERROR_INVALID_DOMAIN" || code === "ERROR_INVALID_RP_ID") {
    return "This browser refused the passkey for this address (the site's domain does not match).";
  }
  if (name === "NotSupportedError") return "This device cannot create a passkey Gatehouse accepts.";
  return error instanceof Error && error.message !== "" ? error.message : "The passkey request failed.";
}
