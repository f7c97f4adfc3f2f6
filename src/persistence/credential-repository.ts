import type { CredentialStore } from "../domain/ports/credential-store.ts";
import type { Sql } from "./sql.ts";

export class SqlCredentialRepository implements CredentialStore {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async passwordHash(userId: string): Promise<string | undefined> {
    const rows = await this.sql.query<{ password_hash: string | null }>(
      `SELECT password_hash FROM users WHERE id = $1`,
      [userId],
    );
    return rows[0]?.password_hash ?? undefined;
  }

  async setPasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.sql.query(
      `UPDATE users SET password_hash = $2, password_changed_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE id = $1`,
      [userId, passwordHash],
    );
  }

  async totp(userId: string): Promise<{ secretSealed: string; confirmed: boolean } | undefined> {
    const rows = await this.sql.query<{ secret_sealed: string; confirmed: boolean }>(
      `SELECT secret_sealed, confirmed_at IS NOT NULL AS confirmed FROM user_totp WHERE user_id = $1`,
      [userId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { secretSealed: row.secret_sealed, confirmed: row.confirmed };
  }

  async startTotpEnrollment(userId: string, secretSealed: string): Promise<boolean> {
    const rows = await this.sql.query(
      `INSERT INTO user_totp (user_id, secret_sealed) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET secret_sealed = EXCLUDED.secret_sealed, created_at = clock_timestamp()
       WHERE user_totp.confirmed_at IS NULL
       RETURNING user_id`,
      [userId, secretSealed],
    );
    return rows.length === 1;
  }

  async confirmTotp(userId: string, recoveryCodeHashes: readonly string[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`UPDATE user_totp SET confirmed_at = clock_timestamp() WHERE user_id = $1`, [userId]);
      await tx.query(`UPDATE users SET mfa_enabled = true, updated_at = clock_timestamp() WHERE id = $1`, [
        userId,
      ]);
      await tx.query(`DELETE FROM user_recovery_codes WHERE user_id = $1`, [userId]);
      await tx.query(`INSERT INTO user_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, [
        userId,
        recoveryCodeHashes,
      ]);
    });
  }

  async removeTotp(userId: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM user_totp WHERE user_id = $1`, [userId]);
      await tx.query(`DELETE FROM user_recovery_codes WHERE user_id = $1`, [userId]);
      await tx.query(`UPDATE users SET mfa_enabled = false, updated_at = clock_timestamp() WHERE id = $1`, [
        userId,
      ]);
    });
  }

  async replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query(`DELETE FROM user_recovery_codes WHERE user_id = $1`, [userId]);
      await tx.query(`INSERT INTO user_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, [
        userId,
        codeHashes,
      ]);
    });
  }

  async consumeRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE user_recovery_codes SET used_at = clock_timestamp()
       WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
      [userId, codeHash],
    );
    return rows.length === 1;
  }
}
