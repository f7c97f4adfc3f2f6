import type { MigrationInterface, QueryRunner } from "typeorm";

/** The registry of API services that Gatehouse guards. */
export class Services1763800000000 implements MigrationInterface {
  name = "Services1763800000000";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE services (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(63) NOT NULL UNIQUE,
        display_name varchar(128) NOT NULL,
        description varchar(1024) NOT NULL DEFAULT '',
        audience varchar(256) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        -- Ordered lowest to highest: a later role satisfies a requirement for an earlier one.
        roles text[] NOT NULL,
        hosts text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE UNIQUE INDEX services_audience_key ON services (audience)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE services`);
  }
}
