import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/** The Redis that scripts/services.sh runs. */
export const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

/** Fails with the URL and the way to start it when the server does not answer. */
export async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${url} (run scripts/services.sh)`, { cause: error });
  } finally {
    redis.disconnect();
  }
}

/** A key prefix no other run uses (`<namespace>:<random>:`), so that many runs can share the one Redis. */
export function uniqueRedisPrefix(namespace: string): string {
  return `${namespace}:${randomBytes(6).toString("hex")}:`;
}
