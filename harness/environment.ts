import { randomBytes } from "node:crypto";

/** The bootstrap administrator Gatehouse creates on its first start. */
export interface Administrator {
  readonly username: string;
  readonly email: string;
  readonly password: string;
}

export interface PostgresRedisOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisKeyPrefix: string;
  /** 64 hex digits; a fresh random key when absent. Replicas of one deployment must share it. */
  readonly keyEncryptionKey?: string;
  /** One issuer, so that replicas accept each other's tokens; Gatehouse's default when absent. */
  readonly issuer?: string;
  readonly admin?: Administrator;
}

/**
 * The environment of a Gatehouse on PostgreSQL and Redis, as a replicated
 * deployment runs: with DATABASE_URL the key-encryption key is required (the
 * embedded default generates its own into DATA_DIR).
 */
export function postgresRedisEnvironment(options: PostgresRedisOptions): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: options.redisKeyPrefix,
    KEY_ENCRYPTION_KEY: options.keyEncryptionKey ?? randomBytes(32).toString("hex"),
    ...(options.issuer === undefined ? {} : { ISSUER: options.issuer }),
    ...(options.admin === undefined
      ? {}
      : {
          BOOTSTRAP_ADMIN_USERNAME: options.admin.username,
          BOOTSTRAP_ADMIN_EMAIL: options.admin.email,
          BOOTSTRAP_ADMIN_PASSWORD: options.admin.password,
        }),
  };
}
