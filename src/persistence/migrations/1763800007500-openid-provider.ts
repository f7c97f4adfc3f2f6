import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The OpenID Provider (#13). Signing keys: one generation sequence per
 * algorithm, so that the RS256 ring (ID tokens, OIDC's mandatory algorithm)
 * rotates beside the ES256 one. Refresh tokens: the grant a chain was issued
 * for through the token endpoint (client, scope, audience), which each
 * rotation passes on; NULL for chains of Login (the session's own client).
 */
export class OpenIdProvider1763800007500 implements MigrationInterface {
  name = "OpenIdProvider1763800007500";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_generation_key`,
      `ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_algorithm_generation_key UNIQUE (algorithm, generation)`,
      `ALTER TABLE refresh_tokens ADD COLUMN grant_json jsonb`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE refresh_tokens DROP COLUMN grant_json`);
    await runner.query(`DELETE FROM signing_keys WHERE algorithm <> 'ES256'`);
    await runner.query(`ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_algorithm_generation_key`);
    await runner.query(
      `ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_generation_key UNIQUE (generation)`,
    );
  }
}
