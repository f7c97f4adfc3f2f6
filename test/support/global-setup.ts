import { checkPostgres } from "../../harness/postgres.ts";
import { checkRedis } from "../../harness/redis.ts";
import { POSTGRES_ADMIN_URL, REDIS_URL } from "./services.ts";

/**
 * Runs once before every suite: the real PostgreSQL and Redis must answer.
 * There is no skip path: a suite that cannot reach its server fails (scripts/services.sh starts them).
 */
export default async function setup(): Promise<void> {
  await checkPostgres(POSTGRES_ADMIN_URL);
  await checkRedis(REDIS_URL);
}
