import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The token vault: one sealed refresh or offline token per (user, client,
 * purpose). Ciphertexts are AES-256-GCM under the key named in key_id, with
 * the entry's identity as associated data; the last access token minted is
 * kept sealed too, for concurrent callers on other replicas.
 */
export class TokenVault1763800004000 implements MigrationInterface {
  name = "TokenVault1763800004000";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE vault_entries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_id varchar(128) NOT NULL,
        purpose varchar(63) NOT NULL,
        token_type varchar(8) NOT NULL CHECK (token_type IN ('refresh', 'offline')),
        state varchar(8) NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'dead')),
        dead_reason varchar(64),
        session_id varchar(128) NOT NULL DEFAULT '',
        key_id varchar(64) NOT NULL,
        -- 0x01 ‖ nonce ‖ tag ‖ ciphertext, never the token in clear.
        token_sealed bytea NOT NULL,
        access_sealed bytea,
        access_expires_at timestamptz,
        access_scope text,
        -- Bumped by every rotation: a caller that waited on the row lock sees whether another minted meanwhile.
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_used_at timestamptz,
        expires_at timestamptz,
        UNIQUE (user_id, client_id, purpose)
      )`,
      // Start-up checks the key ids in use; re-encryption finds rows under old keys.
      `CREATE INDEX vault_entries_key_id_idx ON vault_entries (key_id)`,
      `CREATE INDEX vault_entries_session_idx ON vault_entries (user_id, session_id)`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE vault_entries`);
  }
}
