import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Which OIDC clients got tokens in a session (#13), so that back-channel
 * logout knows whom to tell when it ends, also a client that took no refresh
 * token. Goes with its session.
 */
export class OidcSessionClients1763800007200 implements MigrationInterface {
  name = "OidcSessionClients1763800007200";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE oidc_session_clients (
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        client_id varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (session_id, client_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE oidc_session_clients`);
  }
}
