import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Keycloak synchronisation state: every full sync's result (GetSyncStatus
 * reports the latest), and sync failures outside full runs (sign-in,
 * provisioning, SyncToKeycloak) so that "failures since the last full sync"
 * survives restarts and is the same on every replica.
 */
export class KeycloakSync1763800003000 implements MigrationInterface {
  name = "KeycloakSync1763800003000";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE keycloak_sync_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        created integer NOT NULL,
        updated integer NOT NULL,
        unchanged integer NOT NULL,
        disabled integer NOT NULL,
        failed integer NOT NULL
      )`,
      `CREATE INDEX keycloak_sync_runs_finished_at_idx ON keycloak_sync_runs (finished_at DESC)`,
      `CREATE TABLE keycloak_sync_failures (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        source varchar(16) NOT NULL CHECK (source IN ('login', 'provision', 'push')),
        external_id varchar(255) NOT NULL DEFAULT '',
        user_id varchar(64) NOT NULL DEFAULT '',
        reason varchar(64) NOT NULL DEFAULT ''
      )`,
      `CREATE INDEX keycloak_sync_failures_occurred_at_idx ON keycloak_sync_failures (occurred_at)`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE keycloak_sync_failures, keycloak_sync_runs`);
  }
}
