import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Sessions keep where they started (ip_address, user_agent, created_at: the
 * sign-in's, no longer overwritten) apart from where their user was last seen
 * (the sign-in, then each refresh; a token vault mint does not count).
 * Existing rows had their sign-in values overwritten by refreshes already, so
 * both start out as the values they hold now.
 */
export class SessionLastSeen1763800005500 implements MigrationInterface {
  name = "SessionLastSeen1763800005500";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE sessions
         ADD COLUMN last_seen_ip_address varchar(64) NOT NULL DEFAULT '',
         ADD COLUMN last_seen_user_agent varchar(512) NOT NULL DEFAULT '',
         ADD COLUMN last_seen_at timestamptz`,
      `UPDATE sessions SET last_seen_ip_address = ip_address, last_seen_user_agent = user_agent,
         last_seen_at = last_used_at`,
      `ALTER TABLE sessions
         ALTER COLUMN last_seen_at SET DEFAULT clock_timestamp(),
         ALTER COLUMN last_seen_at SET NOT NULL`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE sessions DROP COLUMN last_seen_ip_address, DROP COLUMN last_seen_user_agent,
         DROP COLUMN last_seen_at`,
    );
  }
}
