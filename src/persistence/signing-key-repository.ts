import type { JWK } from "jose";
import type { SigningKeyStore, StoredSigningKey } from "../domain/ports/signing-key-store.ts";
import type { SqlRunner } from "./sql.ts";

interface Row {
  kid: string;
  generation: number;
  algorithm: string;
  public_jwk: JWK;
  private_key_sealed: string;
  activates_at: Date;
  retires_at: Date;
  expires_at: Date;
}

export class SqlSigningKeyRepository implements SigningKeyStore {
  private readonly sql: SqlRunner;

  constructor(sql: SqlRunner) {
    this.sql = sql;
  }

  async unexpired(now: Date): Promise<StoredSigningKey[]> {
    const rows = await this.sql.query<Row>(
      `SELECT kid, generation, algorithm, public_jwk, private_key_sealed, activates_at, retires_at, expires_at
       FROM signing_keys WHERE expires_at > $1`,
      [now],
    );
    return rows.map((row) => ({
      kid: row.kid,
      generation: row.generation,
      algorithm: row.algorithm,
      publicJwk: row.public_jwk,
      privateKeySealed: row.private_key_sealed,
      activatesAt: new Date(row.activates_at),
      retiresAt: new Date(row.retires_at),
      expiresAt: new Date(row.expires_at),
    }));
  }

  async insert(key: StoredSigningKey): Promise<boolean> {
    const rows = await this.sql.query(
      `INSERT INTO signing_keys
         (kid, generation, algorithm, public_jwk, private_key_sealed, activates_at, retires_at, expires_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)
       ON CONFLICT (algorithm, generation) DO NOTHING RETURNING kid`,
      [
        key.kid,
        key.generation,
        key.algorithm,
        JSON.stringify(key.publicJwk),
        key.privateKeySealed,
        key.activatesAt,
        key.retiresAt,
        key.expiresAt,
      ],
    );
    return rows.length === 1;
  }

  async deleteExpiredBefore(time: Date): Promise<void> {
    await this.sql.query(`DELETE FROM signing_keys WHERE expires_at < $1`, [time]);
  }
}
