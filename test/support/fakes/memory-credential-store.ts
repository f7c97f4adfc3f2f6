import type { CredentialStore } from "../../../src/domain/ports/credential-store.ts";

interface Credentials {
  passwordHash?: string;
  totp?: { secretSealed: string; confirmed: boolean };
  recoveryCodes: Map<string, boolean>;
}

/** The built-in provider's credentials in memory: the same contract as the SQL adapter. */
export class MemoryCredentialStore implements CredentialStore {
  private readonly byUser = new Map<string, Credentials>();

  private of(userId: string): Credentials {
    let found = this.byUser.get(userId);
    if (found === undefined) {
      found = { recoveryCodes: new Map() };
      this.byUser.set(userId, found);
    }
    return found;
  }

  async passwordHash(userId: string): Promise<string | undefined> {
    return this.byUser.get(userId)?.passwordHash;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    this.of(userId).passwordHash = passwordHash;
  }

  async totp(userId: string) {
    const totp = this.byUser.get(userId)?.totp;
    return totp === undefined ? undefined : { ...totp };
  }

  async startTotpEnrollment(userId: string, secretSealed: string): Promise<boolean> {
    const credentials = this.of(userId);
    if (credentials.totp?.confirmed === true) return false;
    credentials.totp = { secretSealed, confirmed: false };
    return true;
  }

  async confirmTotp(userId: string, recoveryCodeHashes: readonly string[]): Promise<void> {
    const credentials = this.of(userId);
    if (credentials.totp !== undefined) credentials.totp.confirmed = true;
    credentials.recoveryCodes = new Map(recoveryCodeHashes.map((hash) => [hash, false]));
  }

  async removeTotp(userId: string): Promise<void> {
    const credentials = this.of(userId);
    credentials.totp = undefined;
    credentials.recoveryCodes.clear();
  }

  async replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void> {
    this.of(userId).recoveryCodes = new Map(codeHashes.map((hash) => [hash, false]));
  }

  async consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const codes = this.of(userId).recoveryCodes;
    if (codes.get(codeHash) !== false) return false;
    codes.set(codeHash, true);
    return true;
  }
}
