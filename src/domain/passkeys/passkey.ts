import type { RegisteredCredential } from "../ports/webauthn.ts";

/** A WebAuthn credential (passkey) registered to a user. The public key never leaves the server. */
export interface Passkey extends RegisteredCredential {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | undefined;
}

export type NewPasskey = Omit<Passkey, "id" | "createdAt" | "lastUsedAt">;

/**
 * RFC 8176's method for a passkey: "swk" for a key that may leave the device
 * (backup-eligible: synced passkeys), "hwk" for one bound to its hardware.
 */
export const passkeyMethod = (passkey: Pick<Passkey, "backupEligible">): "hwk" | "swk" =>
  passkey.backupEligible ? "swk" : "hwk";
