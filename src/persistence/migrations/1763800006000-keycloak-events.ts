import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Where the Keycloak event poller stopped: one row, shared by every replica,
 * so that a restart or another replica goes on from there (and a cursor not
 * polled for longer than Keycloak keeps events shows the gap).
 */
export class KeycloakEvents1763800006000 implements MigrationInterface {
  name = "KeycloakEvents1763800006000";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE keycloak_event_cursor (
      id varchar(32) PRIMARY KEY,
      position text NOT NULL,
      polled_at timestamptz NOT NULL
    )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE keycloak_event_cursor`);
  }
}
