/** A WebAuthn credential (passkey) registered to a user. The public key never leaves the server. */
export interface Passkey {
  readonly id: string;
  readonly userId: string;
  /** The authenticator's credential id, base64url. */
  readonly credentialId: string;
  /** COSE public key. */
  readonly publicKey: Uint8Array;
  /** The signature counter last seen; 0 for authenticators that keep none. */
  readonly signCount: number;
  /** "internal", "hybrid", "usb", "nfc", "ble", as the authenticator reported them. */
  readonly transports: readonly string[];
  /** May the authenticator sync it (a multi-device passkey); fixed at creation. */
  readonly backupEligible: boolean;
  /** Is it synced now (as of the last ceremony). */
  readonly backedUp: boolean;
  /** The authenticator model; all zeros under attestation "none". */
  readonly aaguid: string;
  readonly name: string;
  /** Whether the authenticator verified the user at registration. */
  readonly userVerified: boolean;
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
