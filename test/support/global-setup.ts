import { checkPostgres, checkRedis } from "./services.ts";

/**
 * Runs once before every suite: the real PostgreSQL and Redis must answer.
 * There is no skip path: a suite that cannot reach its server fails (scripts/services.sh starts them).
 */
export default async function setup(): Promise<void> {
  await checkPostgres();
  await checkRedis();
}
