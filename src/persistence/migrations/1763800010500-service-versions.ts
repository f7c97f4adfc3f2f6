import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Numbered service changes, so that replicas apply one changed service instead
 * of reloading the registry (#16): one counter for the whole registry, taken
 * by every create, update and delete in the statement that writes the service
 * (its row lock orders the writers, and a failed write rolls it back, so the
 * numbers have no holes), and each service keeps the number of its last write.
 */
export class ServiceVersions1763800010500 implements MigrationInterface {
  name = "ServiceVersions1763800010500";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE service_directory_version (
         singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
         version bigint NOT NULL
       )`,
      `INSERT INTO service_directory_version (version) VALUES (0)`,
      `ALTER TABLE services ADD COLUMN version bigint NOT NULL DEFAULT 0`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE services DROP COLUMN version`);
    await runner.query(`DROP TABLE service_directory_version`);
  }
}
