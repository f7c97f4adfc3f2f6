import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Administrator, postgresRedisEnvironment } from "../../harness/environment.ts";
import { startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import { createDatabase, type FreshDatabase, LOCAL_POSTGRES_ADMIN_URL } from "../../harness/postgres.ts";
import { LOCAL_REDIS_URL, uniqueRedisPrefix } from "../../harness/redis.ts";
import { ROOT } from "../../harness/root.ts";

export const RESULTS_DIR = resolve(ROOT, "bench/results");
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? LOCAL_POSTGRES_ADMIN_URL;
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? LOCAL_REDIS_URL;

export const ADMIN: Administrator = {
  username: "bench-admin",
  email: "bench-admin@gatehouse.bench",
  password: "Gatehouse-Pw-for-benchmarks-7!",
};

export type BenchDatabase = FreshDatabase;

/** A fresh, empty PostgreSQL database for one benchmark; Gatehouse runs its migrations on start. */
export function createBenchDatabase(): Promise<BenchDatabase> {
  return createDatabase(POSTGRES_ADMIN_URL, "gatehouse_bench");
}

/**
 * What every benchmark server runs with: PostgreSQL and Redis (as a
 * replicated deployment would), a fresh key-encryption key, the bootstrap
 * administrator, and one issuer so that replicas agree.
 */
export function baseEnvironment(database: BenchDatabase): Record<string, string> {
  return {
    ...postgresRedisEnvironment({
      databaseUrl: database.url,
      redisUrl: REDIS_URL,
      redisKeyPrefix: uniqueRedisPrefix("gatehouse-bench"),
      issuer: "http://gatehouse.bench",
      admin: ADMIN,
    }),
    // The seed signs in a few times from one address; the rate limit under measurement is set per benchmark.
    RATE_LIMIT_SENSITIVE_PER_MINUTE: "100000",
    LOG_LEVEL: "info",
  };
}

export interface BenchServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  /** Resident set size from /proc (bytes). */
  rssBytes(): number;
  /** User + system CPU seconds the process has used, from /proc. */
  cpuSeconds(): number;
  /** The exit code once the process has exited on its own (null while it runs). */
  exitCode(): number | null;
  /** The last lines it logged. */
  logTail(lines?: number): string;
  /** SIGTERM and wait for the exit (the CPU profile, if any, is written then). */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  readonly env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  readonly logDir: string;
}

/** A Gatehouse process (its own core's worth of CPU) logging to `<logDir>/<name>.log`, once it listens. */
export async function startServer(options: StartOptions): Promise<BenchServer> {
  const server = await startGatehouseProcess({
    name: `gatehouse ${options.name}`,
    env: options.env,
    ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
    logFile: resolve(options.logDir, `${options.name}.log`),
  });
  const procFile = (file: string) => readFileSync(`/proc/${server.pid}/${file}`, "utf8");
  return {
    name: options.name,
    url: server.url,
    port: server.port,
    pid: server.pid,
    env: server.env,
    exitCode: server.exitCode,
    logTail: (lines = 20) =>
      server
        .output()
        .split("\n")
        .slice(-lines - 1)
        .join("\n"),
    rssBytes() {
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(procFile("status"))?.[1] ?? Number.NaN) * 1024;
    },
    cpuSeconds() {
      // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
      const stat = procFile("stat");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      await server.stop();
    },
  };
}
