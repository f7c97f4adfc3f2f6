import { readFileSync } from "node:fs";
import { MemoryCoordinationStore } from "../cache/memory-coordination-store.ts";
import { RedisCoordinationStore } from "../cache/redis-coordination-store.ts";
import type { Config } from "../config/config.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Tracing } from "../observability/tracing.ts";

/** Redis when REDIS_URL is set (replicas share it); otherwise in-process, for one node. */
export async function openCoordinationStore(
  config: Config["redis"],
  commandTimeoutMs: number,
  logger: Logger,
  tracing?: Tracing,
): Promise<CoordinationStore> {
  if (config.url === undefined) return new MemoryCoordinationStore();
  const store = new RedisCoordinationStore(
    config.url,
    config.keyPrefix,
    logger.child({ component: "redis" }),
    commandTimeoutMs,
    config.tlsCaFile === undefined ? undefined : { ca: readFileSync(config.tlsCaFile) },
    tracing,
  );
  await store.connect();
  return store;
}
