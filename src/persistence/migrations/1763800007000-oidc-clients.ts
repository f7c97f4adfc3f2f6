import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The relying parties of the built-in OpenID Provider (#13). The secret is
 * stored as its SHA-256 (NULL for a client without one), like service-account
 * secrets: 256 random bits need no slow hash.
 */
export class OidcClients1763800007000 implements MigrationInterface {
  name = "OidcClients1763800007000";

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE oidc_clients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        client_id varchar(64) NOT NULL UNIQUE,
        name varchar(128) NOT NULL,
        type varchar(16) NOT NULL CHECK (type IN ('public', 'confidential')),
        redirect_uris text[] NOT NULL DEFAULT '{}',
        post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
        grant_types text[] NOT NULL,
        scopes text[] NOT NULL,
        first_party boolean NOT NULL DEFAULT false,
        backchannel_logout_uri varchar(2048) NOT NULL DEFAULT '',
        id_token_signing_alg varchar(8) NOT NULL DEFAULT 'RS256' CHECK (id_token_signing_alg IN ('RS256', 'ES256')),
        token_endpoint_auth_method varchar(32) NOT NULL CHECK (token_endpoint_auth_method IN
          ('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')),
        jwks text NOT NULL DEFAULT '',
        secret_hash varchar(64),
        secret_rotated_at timestamptz,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await runner.query(`CREATE INDEX oidc_clients_created_key ON oidc_clients (created_at, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE oidc_clients`);
  }
}
