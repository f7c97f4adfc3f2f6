import type { UserTokenPurpose, UserTokenRepository } from "../../../src/domain/users/user-repository.ts";

interface Row {
  readonly userId: string;
  readonly purpose: UserTokenPurpose;
  readonly tokenHash: string;
  readonly expiresAt: Date;
  used: boolean;
}

/** Password-reset and email-verification tokens in memory (hashed, as stored). */
export class MemoryUserTokenRepository implements UserTokenRepository {
  readonly rows: Row[] = [];
  now: () => number = Date.now;

  async issue(userId: string, purpose: UserTokenPurpose, tokenHash: string, expiresAt: Date): Promise<void> {
    for (const row of this.rows) {
      if (row.userId === userId && row.purpose === purpose) row.used = true;
    }
    this.rows.push({ userId, purpose, tokenHash, expiresAt, used: false });
  }

  private live(purpose: UserTokenPurpose, tokenHash: string): Row | undefined {
    return this.rows.find(
      (row) =>
        row.purpose === purpose &&
        row.tokenHash === tokenHash &&
        !row.used &&
        row.expiresAt.getTime() > this.now(),
    );
  }

  async find(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined> {
    return this.live(purpose, tokenHash)?.userId;
  }

  async consume(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined> {
    const row = this.live(purpose, tokenHash);
    if (row === undefined) return undefined;
    row.used = true;
    return row.userId;
  }

  async voidAll(userId: string, purpose: UserTokenPurpose): Promise<void> {
    for (const row of this.rows) {
      if (row.userId === userId && row.purpose === purpose) row.used = true;
    }
  }
}
