import { type PostgresRedisOptions, postgresRedisEnvironment } from "../../harness/environment.ts";
import { createDatabase, type FreshDatabase, LOCAL_POSTGRES_ADMIN_URL } from "../../harness/postgres.ts";
import { LOCAL_REDIS_URL, uniqueRedisPrefix as uniquePrefix } from "../../harness/redis.ts";

/** The servers the tests use (scripts/services.sh starts them); TEST_POSTGRES_URL / TEST_REDIS_URL point elsewhere. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? LOCAL_POSTGRES_ADMIN_URL;
export const REDIS_URL = process.env.TEST_REDIS_URL ?? LOCAL_REDIS_URL;

/** A fresh, empty database on the real server; dropped by the returned function. */
export function createTestDatabase(): Promise<FreshDatabase> {
  return createDatabase(POSTGRES_ADMIN_URL, "gatehouse_test");
}

/** A key prefix no other test run uses, so suites can share the one Redis. */
export function uniqueRedisPrefix(): string {
  return uniquePrefix("gatehouse-test");
}

/** A Gatehouse's environment on a test database and the test Redis, under a key prefix of its own. */
export function postgresRedisTestEnvironment(
  database: FreshDatabase,
  options: Pick<PostgresRedisOptions, "keyEncryptionKey" | "issuer"> = {},
): Record<string, string> {
  return postgresRedisEnvironment({
    databaseUrl: database.url,
    redisUrl: REDIS_URL,
    redisKeyPrefix: uniqueRedisPrefix(),
    ...options,
  });
}
