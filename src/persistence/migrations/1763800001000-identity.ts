import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The identity core: users and their credentials, sessions and refresh
 * tokens, signing keys, RBAC roles, business roles, service accounts and the
 * audit log. Timestamps default to clock_timestamp() so rows written in one
 * transaction still sort in the order they were written (keyset pagination).
 */
export class Identity1763800001000 implements MigrationInterface {
  name = "Identity1763800001000";

  async up(runner: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username varchar(64) NOT NULL,
        email varchar(254) NOT NULL,
        email_verified boolean NOT NULL DEFAULT false,
        first_name varchar(128) NOT NULL DEFAULT '',
        middle_name varchar(128) NOT NULL DEFAULT '',
        last_name varchar(128) NOT NULL DEFAULT '',
        phone varchar(32) NOT NULL DEFAULT '',
        telegram varchar(65) NOT NULL DEFAULT '',
        organization varchar(256) NOT NULL DEFAULT '',
        department varchar(256) NOT NULL DEFAULT '',
        title varchar(256) NOT NULL DEFAULT '',
        links jsonb NOT NULL DEFAULT '[]',
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        mfa_enabled boolean NOT NULL DEFAULT false,
        -- The user's id at an external identity provider (Keycloak); NULL for the built-in one.
        external_id varchar(255),
        -- argon2id PHC string; NULL when the provider holds the password (or none is set yet).
        password_hash text,
        password_changed_at timestamptz,
        failed_login_count integer NOT NULL DEFAULT 0,
        locked_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_login_at timestamptz
      )`,
      // Sign-in by username or email, case-insensitively; also what keeps them unique.
      `CREATE UNIQUE INDEX users_username_key ON users (lower(username))`,
      `CREATE UNIQUE INDEX users_email_key ON users (lower(email))`,
      `CREATE UNIQUE INDEX users_external_id_key ON users (external_id) WHERE external_id IS NOT NULL`,
      // The list order (keyset pagination). Substring search (ILIKE '%q%') walks this index and stops
      // after a page of matches: no btree serves infix matches, and pg_trgm is not in PGlite.
      `CREATE INDEX users_created_at_id_idx ON users (created_at, id)`,

      `CREATE TABLE roles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(64) NOT NULL UNIQUE,
        description varchar(512) NOT NULL DEFAULT '',
        built_in boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE TABLE role_permissions (
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        permission varchar(64) NOT NULL,
        PRIMARY KEY (role_id, permission)
      )`,
      `CREATE TABLE user_roles (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, role_id)
      )`,
      `CREATE INDEX user_roles_role_id_idx ON user_roles (role_id)`,
      // The admin role's permissions are (re)filled from the catalogue at every start.
      `INSERT INTO roles (name, description, built_in) VALUES
        ('admin', 'Administrators: every permission', true),
        ('user', 'Every signed-up user; no administrative permission', true)`,

      `CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        client_id varchar(128) NOT NULL,
        ip_address varchar(64) NOT NULL DEFAULT '',
        user_agent varchar(512) NOT NULL DEFAULT '',
        -- How the user proved who they are (RFC 8176 values: pwd, otp, ...).
        auth_methods text[] NOT NULL DEFAULT '{}',
        offline boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_used_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoke_reason varchar(64)
      )`,
      `CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at)`,
      `CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        -- SHA-256 (hex) of the 256-bit random token: never the token itself.
        token_hash varchar(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        -- The token pair this token was exchanged for, sealed (AES-256-GCM): a concurrent
        -- refresh within the grace window gets the same pair. Cleared when the session ends.
        successor_sealed text
      )`,
      `CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id)`,

      `CREATE TABLE signing_keys (
        kid varchar(64) PRIMARY KEY,
        -- One key per generation: replicas racing to rotate agree on a single new key.
        generation integer NOT NULL UNIQUE,
        algorithm varchar(16) NOT NULL,
        public_jwk jsonb NOT NULL,
        private_key_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        activates_at timestamptz NOT NULL,
        retires_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      )`,

      `CREATE TABLE user_totp (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- NULL while enrolment waits for its first code.
        confirmed_at timestamptz
      )`,
      `CREATE TABLE user_recovery_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        used_at timestamptz,
        UNIQUE (user_id, code_hash)
      )`,
      `CREATE TABLE user_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        purpose varchar(32) NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
        token_hash varchar(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`,
      `CREATE INDEX user_tokens_user_id_idx ON user_tokens (user_id, purpose)`,

      `CREATE TABLE service_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL UNIQUE,
        client_id varchar(128) NOT NULL UNIQUE,
        description varchar(1024) NOT NULL DEFAULT '',
        secret_hash varchar(64) NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        secret_rotated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE INDEX service_accounts_created_at_id_idx ON service_accounts (created_at, id)`,

      `CREATE TABLE business_roles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(128) NOT NULL,
        description varchar(512) NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`,
      `CREATE UNIQUE INDEX business_roles_name_key ON business_roles (lower(name))`,
      `CREATE TABLE business_role_grants (
        business_role_id uuid NOT NULL REFERENCES business_roles (id) ON DELETE CASCADE,
        service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
        role varchar(63) NOT NULL,
        PRIMARY KEY (business_role_id, service_id, role)
      )`,
      `CREATE INDEX business_role_grants_service_id_idx ON business_role_grants (service_id)`,
      `CREATE TABLE user_business_roles (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        business_role_id uuid NOT NULL REFERENCES business_roles (id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, business_role_id)
      )`,
      `CREATE INDEX user_business_roles_business_role_id_idx ON user_business_roles (business_role_id)`,

      // No foreign keys: events outlive the users, accounts and roles they name.
      `CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        action varchar(64) NOT NULL,
        result varchar(8) NOT NULL CHECK (result IN ('success', 'failure')),
        actor_id varchar(64) NOT NULL DEFAULT '',
        actor_kind varchar(32) NOT NULL DEFAULT '',
        target_id varchar(64) NOT NULL DEFAULT '',
        target_kind varchar(32) NOT NULL DEFAULT '',
        ip_address varchar(64) NOT NULL DEFAULT '',
        request_id varchar(128) NOT NULL DEFAULT '',
        reason varchar(64) NOT NULL DEFAULT '',
        details jsonb NOT NULL DEFAULT '{}'
      )`,
      `CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at DESC, id DESC)`,
      `CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at DESC)`,
      `CREATE INDEX audit_events_target_idx ON audit_events (target_id, occurred_at DESC)`,
      // Exact actions and prefixes ("auth.%").
      `CREATE INDEX audit_events_action_idx ON audit_events (action text_pattern_ops, occurred_at DESC)`,
    ];
    for (const statement of statements) await runner.query(statement);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE audit_events, user_business_roles, business_role_grants, business_roles,
        service_accounts, user_tokens, user_recovery_codes, user_totp, signing_keys,
        refresh_tokens, sessions, user_roles, role_permissions, roles, users`);
  }
}
