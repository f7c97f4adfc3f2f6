import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * GetSyncStatus's "users synced in the last day" and failure rate (#15): each
 * user's last successful sync with Keycloak (sign-in, event, full run or
 * SyncToKeycloak), and full-run failures recorded beside the others (source
 * 'full'), so that the rate counts every failure.
 */
export class KeycloakSyncTimes1763800008000 implements MigrationInterface {
  name = "KeycloakSyncTimes1763800008000";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE users ADD COLUMN keycloak_synced_at timestamptz`,
      `CREATE INDEX users_keycloak_synced_at_idx ON users (keycloak_synced_at) WHERE keycloak_synced_at IS NOT NULL`,
      `ALTER TABLE keycloak_sync_failures DROP CONSTRAINT keycloak_sync_failures_source_check`,
      `ALTER TABLE keycloak_sync_failures ADD CONSTRAINT keycloak_sync_failures_source_check
         CHECK (source IN ('login', 'provision', 'push', 'full'))`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    const statements = [
      `DELETE FROM keycloak_sync_failures WHERE source = 'full'`,
      `ALTER TABLE keycloak_sync_failures DROP CONSTRAINT keycloak_sync_failures_source_check`,
      `ALTER TABLE keycloak_sync_failures ADD CONSTRAINT keycloak_sync_failures_source_check
         CHECK (source IN ('login', 'provision', 'push'))`,
      `DROP INDEX users_keycloak_synced_at_idx`,
      `ALTER TABLE users DROP COLUMN keycloak_synced_at`,
    ];
    for (const statement of statements) await runner.query(statement);
  }
}
