import type { BenchContext } from "./benchmark.ts";
import {
  type BenchDatabase,
  type BenchServer,
  baseEnvironment,
  createBenchDatabase,
  startServer,
} from "./gatehouse-server.ts";

/**
 * Settings of every server under measurement beyond the defaults:
 * - hour-long access tokens, so that no token expires during a run;
 * - the per-IP rate limit raised to its maximum: every request of a
 *   benchmark comes from 127.0.0.1, as every Check from one Envoy sidecar
 *   does (see BENCHMARKS.md on what the default does to Check).
 */
export const MEASURED_SERVER_ENV: Readonly<Record<string, string>> = {
  ACCESS_TOKEN_TTL_SECONDS: "3600",
  RATE_LIMIT_PER_IP_PER_MINUTE: "10000000",
};

export interface Deployment {
  readonly database: BenchDatabase;
  readonly servers: BenchServer[];
  /** Starts another replica on the same database and Redis prefix. */
  addReplica(name: string, env?: Record<string, string>): Promise<BenchServer>;
  stop(): Promise<void>;
}

/** A fresh database and one Gatehouse process on it (more with addReplica). */
export async function deploy(
  context: BenchContext,
  name: string,
  env: Record<string, string> = {},
): Promise<Deployment> {
  const database = await createBenchDatabase();
  const shared = { ...baseEnvironment(database), ...MEASURED_SERVER_ENV, ...env, ...context.serverEnv };
  const servers: BenchServer[] = [];
  const start = async (serverName: string, extra: Record<string, string>) => {
    const server = await startServer({
      name: serverName,
      env: { ...shared, ...extra },
      logDir: context.runDir,
      nodeArgs: [
        ...context.serverNodeArgs,
        ...(context.profile ? ["--cpu-prof", `--cpu-prof-dir=${context.runDir}/profiles/${serverName}`] : []),
      ],
    });
    servers.push(server);
    return server;
  };
  try {
    await start(name, {});
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    database,
    servers,
    addReplica: (replicaName, extra = {}) => start(replicaName, extra),
    async stop() {
      for (const server of servers) await server.stop();
      await database.drop();
    },
  };
}
