import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The durable change feed behind every replica's in-memory decision state:
 * revocations (session, token, subject cutoff) and cache invalidations. Redis
 * pub/sub delivers them within milliseconds; this table is what a replica
 * loads at start and polls, so nothing is lost while Redis is unreachable.
 */
export class ChangeEvents1763800000500 implements MigrationInterface {
  name = "ChangeEvents1763800000500";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE change_events (
        id bigserial PRIMARY KEY,
        kind varchar(32) NOT NULL,
        key varchar(256) NOT NULL,
        value bigint NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX change_events_created_at_idx ON change_events (created_at)`);
    await runner.query(`CREATE INDEX change_events_expires_at_idx ON change_events (expires_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE change_events`);
  }
}
