import { DomainError } from "../domain/errors.ts";
import type { NewPasskey, Passkey } from "../domain/passkeys/passkey.ts";
import type { PasskeyStore } from "../domain/ports/passkey-store.ts";
import type { Sql } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

interface Row {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Uint8Array;
  sign_count: string | number;
  transports: string[];
  backup_eligible: boolean;
  backed_up: boolean;
  aaguid: string;
  name: string;
  user_verified: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = `id, user_id, credential_id, public_key, sign_count, transports, backup_eligible, backed_up,
  aaguid, name, user_verified, created_at, last_used_at`;

const toPasskey = (row: Row): Passkey => ({
  id: row.id,
  userId: row.user_id,
  credentialId: row.credential_id,
  publicKey: new Uint8Array(row.public_key),
  signCount: Number(row.sign_count),
  transports: row.transports,
  backupEligible: row.backup_eligible,
  backedUp: row.backed_up,
  aaguid: row.aaguid,
  name: row.name,
  userVerified: row.user_verified,
  createdAt: new Date(row.created_at),
  lastUsedAt: row.last_used_at === null ? undefined : new Date(row.last_used_at),
});

export class SqlPasskeyRepository implements PasskeyStore {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async listByUser(userId: string): Promise<Passkey[]> {
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    );
    return rows.map(toPasskey);
  }

  async countByUser(userId: string): Promise<number> {
    const rows = await this.sql.query<{ count: string | number }>(
      `SELECT count(*) AS count FROM passkeys WHERE user_id = $1`,
      [userId],
    );
    return Number(rows[0]?.count ?? 0);
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | undefined> {
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM passkeys WHERE credential_id = $1`, [
      credentialId,
    ]);
    return rows[0] === undefined ? undefined : toPasskey(rows[0]);
  }

  async create(passkey: NewPasskey): Promise<Passkey> {
    try {
      const rows = await this.sql.query<Row>(
        `INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, transports, backup_eligible,
           backed_up, aaguid, name, user_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING ${COLUMNS}`,
        [
          passkey.userId,
          passkey.credentialId,
          Buffer.from(passkey.publicKey),
          passkey.signCount,
          [...passkey.transports],
          passkey.backupEligible,
          passkey.backedUp,
          passkey.aaguid,
          passkey.name,
          passkey.userVerified,
        ],
      );
      return toPasskey(rows[0]!);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError("already_exists", "passkey_exists", "this passkey is registered already", {
          cause: error,
        });
      }
      throw error;
    }
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey | undefined> {
    const rows = await this.sql.query<Row>(
      `UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [userId, id, name],
    );
    return rows[0] === undefined ? undefined : toPasskey(rows[0]);
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const rows = await this.sql.query(`DELETE FROM passkeys WHERE user_id = $1 AND id = $2 RETURNING id`, [
      userId,
      id,
    ]);
    return rows.length === 1;
  }

  async recordUse(
    id: string,
    use: { expectedSignCount: number; signCount: number; backedUp: boolean },
  ): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE passkeys SET sign_count = $3, backed_up = $4, last_used_at = clock_timestamp()
       WHERE id = $1 AND sign_count = $2 RETURNING id`,
      [id, use.expectedSignCount, use.signCount, use.backedUp],
    );
    return rows.length === 1;
  }
}
