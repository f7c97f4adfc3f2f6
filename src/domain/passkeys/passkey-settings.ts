import { DomainError } from "../errors.ts";
import type { RelyingParty } from "../ports/webauthn.ts";

export interface PasskeySettings {
  /** "keycloak": Keycloak's own WebAuthn applies and Gatehouse serves none of it. */
  readonly availability: "enabled" | "disabled" | "keycloak";
  readonly rp: RelyingParty;
  /** How long a ceremony's challenge may be answered. */
  readonly ceremonyTtlMs: number;
  readonly maxPerUser: number;
}

/** Throws failed_precondition unless passkeys are served here. */
export function requirePasskeysAvailable(settings: PasskeySettings): void {
  if (settings.availability === "keycloak") {
    throw new DomainError(
      "failed_precondition",
      "passkeys_managed_by_keycloak",
      "passkeys are Keycloak's under IDENTITY_PROVIDER=keycloak: use its WebAuthn authenticators",
    );
  }
  if (settings.availability === "disabled") {
    throw new DomainError("failed_precondition", "passkeys_disabled", "passkeys are disabled on this server");
  }
}

export const ceremonyNotFound = () =>
  new DomainError(
    "not_found",
    "ceremony_not_found",
    "the passkey ceremony is unknown, used or expired; start again",
  );
