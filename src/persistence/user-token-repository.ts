import type { UserTokenPurpose, UserTokenRepository } from "../domain/users/user-repository.ts";
import type { Sql } from "./sql.ts";

export class SqlUserTokenRepository implements UserTokenRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async issue(userId: string, purpose: UserTokenPurpose, tokenHash: string, expiresAt: Date): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Only the newest link works; and used or expired rows need not be kept.
      await tx.query(
        `DELETE FROM user_tokens WHERE (user_id = $1 AND purpose = $2) OR expires_at < clock_timestamp()`,
        [userId, purpose],
      );
      await tx.query(
        `INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, $4)`,
        [userId, purpose, tokenHash, expiresAt],
      );
    });
  }

  async find(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined> {
    const rows = await this.sql.query<{ user_id: string }>(
      `SELECT user_id FROM user_tokens
       WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > clock_timestamp()`,
      [tokenHash, purpose],
    );
    return rows[0]?.user_id;
  }

  async consume(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined> {
    const rows = await this.sql.query<{ user_id: string }>(
      `UPDATE user_tokens SET used_at = clock_timestamp()
       WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > clock_timestamp()
       RETURNING user_id`,
      [tokenHash, purpose],
    );
    return rows[0]?.user_id;
  }

  async voidAll(userId: string, purpose: UserTokenPurpose): Promise<void> {
    await this.sql.query(`DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, [
      userId,
      purpose,
    ]);
  }
}
