import type { Passkey } from "../ports/passkey-store.ts";

export type { NewPasskey, Passkey } from "../ports/passkey-store.ts";

/**
 * RFC 8176's method for a passkey: "swk" for a key that may leave the device
 * (backup-eligible: synced passkeys), "hwk" for one bound to its hardware.
 */
export const passkeyMethod = (passkey: Pick<Passkey, "backupEligible">): "hwk" | "swk" =>
  passkey.backupEligible ? "swk" : "hwk";
