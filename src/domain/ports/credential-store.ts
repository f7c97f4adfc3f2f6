/** Where the built-in provider keeps credentials: password hashes, TOTP secrets, recovery codes. */
export interface CredentialStore {
  passwordHash(userId: string): Promise<string | undefined>;
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
  totp(userId: string): Promise<{ readonly secretSealed: string; readonly confirmed: boolean } | undefined>;
  /** Stores a pending secret (replacing a pending one); false when TOTP is already confirmed. */
  startTotpEnrollment(userId: string, secretSealed: string): Promise<boolean>;
  /** Confirms the pending secret, turns MFA on and replaces the recovery codes, atomically. */
  confirmTotp(userId: string, recoveryCodeHashes: readonly string[]): Promise<void>;
  /** Removes the secret and the recovery codes and turns MFA off. */
  removeTotp(userId: string): Promise<void>;
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void>;
  /** Marks an unused code used; false when there is none. Atomic (single use across replicas). */
  consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
}
