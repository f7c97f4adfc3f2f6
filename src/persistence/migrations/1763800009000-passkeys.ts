import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Passkeys (#19): WebAuthn credentials of the built-in provider's users. The
 * credential id is unique across users (an authenticator answers for one
 * account per credential); the public key is not a secret, so it is stored as
 * it is, not sealed.
 */
export class Passkeys1763800009000 implements MigrationInterface {
  name = "Passkeys1763800009000";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE passkeys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        credential_id text NOT NULL,
        public_key bytea NOT NULL,
        sign_count bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
        transports text[] NOT NULL DEFAULT '{}',
        backup_eligible boolean NOT NULL,
        backed_up boolean NOT NULL,
        aaguid varchar(36) NOT NULL,
        name varchar(64) NOT NULL,
        user_verified boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_used_at timestamptz,
        CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
      )`);
    await runner.query(`CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE passkeys`);
  }
}
