import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gatehouse, type GatehouseHooks, startGatehouse } from "../../src/compose/gatehouse.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "./services.ts";

/**
 * "embedded": PGlite in a temp dir and the in-process store (the defaults).
 * "postgres": a fresh database on the real PostgreSQL, and the real Redis.
 */
export type Backend = "embedded" | "postgres";
export const BACKENDS: readonly Backend[] = ["embedded", "postgres"];

export interface TestGatehouse {
  readonly gatehouse: Gatehouse;
  readonly url: string;
  readonly port: number;
  readonly backend: Backend;
  /** The environment the instance was started with (to start a second replica on the same data). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly backend: Backend;
  readonly env?: Record<string, string>;
  /** Reuse another instance's database and Redis prefix (a second replica). */
  readonly shareWith?: TestGatehouse;
  readonly hooks?: GatehouseHooks;
}

/**
 * Embedded instances running in this process. typeorm-pglite holds one PGlite per process: a
 * second embedded Gatehouse on another DATA_DIR would share the first one's database, and closing
 * either closes it under the other (which then reopens it in the last DATA_DIR given).
 */
let runningEmbedded = 0;

export async function startTestGatehouse(options: StartOptions): Promise<TestGatehouse> {
  const ownEmbedded = options.backend === "embedded" && options.shareWith === undefined;
  if (ownEmbedded && runningEmbedded > 0) {
    throw new Error(
      "another embedded Gatehouse runs in this test process: use backend 'postgres' for the second (typeorm-pglite holds one PGlite per process)",
    );
  }
  const cleanups: Array<() => Promise<void>> = [];
  let env: Record<string, string>;
  if (options.shareWith !== undefined) {
    env = { ...options.shareWith.env, ...options.env };
  } else if (options.backend === "postgres") {
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    env = {
      ...postgresRedisTestEnvironment(database, { keyEncryptionKey: "3c".repeat(32) }),
      ...options.env,
    };
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-test-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    env = { DATA_DIR: dataDir, ...options.env };
  }
  const config = loadConfig({
    // A test that needs the port before start (an issuer URL that names it) passes PORT in env.
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
  let counted = ownEmbedded;
  if (counted) runningEmbedded++;
  const gatehouse = await startGatehouse(config, createLogger(config.log.level), options.hooks).catch(
    async (error: unknown) => {
      if (counted) runningEmbedded--;
      counted = false;
      for (const cleanup of cleanups.reverse()) await cleanup();
      throw error;
    },
  );
  return {
    gatehouse,
    url: gatehouse.server.url,
    port: gatehouse.server.port,
    backend: options.backend,
    env,
    async stop() {
      await gatehouse.close();
      if (counted) runningEmbedded--;
      counted = false;
      // Only the instance that created the data removes it.
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
