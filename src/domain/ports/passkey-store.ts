import type { RegisteredCredential } from "./webauthn.ts";

/** A WebAuthn credential (passkey) registered to a user. The public key never leaves the server. */
export interface Passkey extends RegisteredCredential {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | undefined;
}

export type NewPasskey = Omit<Passkey, "id" | "createdAt" | "lastUsedAt">;

/** Where passkeys are kept (the passkeys table). */
export interface PasskeyStore {
  /** Oldest first. */
  listByUser(userId: string): Promise<Passkey[]>;
  countByUser(userId: string): Promise<number>;
  findByCredentialId(credentialId: string): Promise<Passkey | undefined>;
  /** Throws already_exists (passkey_exists) when the credential id is registered already. */
  create(passkey: NewPasskey): Promise<Passkey>;
  /** Undefined when the user has no such passkey. */
  rename(userId: string, id: string, name: string): Promise<Passkey | undefined>;
  /** False when the user had no such passkey. */
  delete(userId: string, id: string): Promise<boolean>;
  /**
   * Records a sign-in: the new counter, backup state and last use, only while
   * the stored counter is still `expectedSignCount` (so that of two concurrent
   * assertions with the same counter only one counts). False otherwise.
   */
  recordUse(
    id: string,
    use: { readonly expectedSignCount: number; readonly signCount: number; readonly backedUp: boolean },
  ): Promise<boolean>;
}
