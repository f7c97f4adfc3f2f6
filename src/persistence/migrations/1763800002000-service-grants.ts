import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Direct grants on services: user → service → role (seed 003's user-service
 * mappings) and service account → service → role (service-to-service calls).
 * One role per subject and service; the service's role order decides what it satisfies.
 */
export class ServiceGrants1763800002000 implements MigrationInterface {
  name = "ServiceGrants1763800002000";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE user_service_grants (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        role varchar(63) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (user_id, service_id)
      )`);
    await runner.query(`CREATE INDEX user_service_grants_service_id_idx ON user_service_grants (service_id)`);
    await runner.query(`
      CREATE TABLE service_account_grants (
        service_account_id uuid NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        role varchar(63) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (service_account_id, service_id)
      )`);
    await runner.query(
      `CREATE INDEX service_account_grants_service_id_idx ON service_account_grants (service_id)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE service_account_grants, user_service_grants`);
  }
}
