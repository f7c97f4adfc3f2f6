import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import pg from "pg";

export const ROOT = resolve(import.meta.dirname, "../..");
export const RESULTS_DIR = resolve(ROOT, "bench/results");
export const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

export const ADMIN = {
  username: "bench-admin",
  email: "bench-admin@gatehouse.bench",
  password: "Gatehouse-Pw-for-benchmarks-7!",
};

/**
 * The Node flags Gatehouse runs with in production (scripts/start.sh, the
 * Dockerfile, package.json's "serve"; test/deploy/node-flags.test.ts keeps them
 * in step), so that benchmarks measure what is deployed. A benchmark's
 * --node-arg comes after these and wins.
 */
export const GATEHOUSE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=8"];

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A fresh, empty PostgreSQL database for one benchmark; Gatehouse runs its migrations on start. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `gatehouse_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * What every benchmark server runs with: PostgreSQL and Redis (as a
 * replicated deployment would), a fresh key-encryption key, the bootstrap
 * administrator, and one issuer so that replicas agree.
 */
export function baseEnvironment(database: BenchDatabase): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: `gatehouse-bench:${randomBytes(5).toString("hex")}:`,
    KEY_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    ISSUER: "http://gatehouse.bench",
    BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
    BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
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

/** Runs `node src/main.ts` as its own process (its own core's worth of CPU) and waits until it listens. */
export async function startServer(options: StartOptions): Promise<BenchServer> {
  await mkdir(options.logDir, { recursive: true });
  const logPath = resolve(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logPath, { flags: "a" });
  const env = { PORT: "0", HOST: "127.0.0.1", ...options.env };
  const child: ChildProcess = spawn(
    process.execPath,
    [...GATEHOUSE_NODE_FLAGS, ...(options.nodeArgs ?? []), "src/main.ts"],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let head = "";
  let tail = "";
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  child.stderr!.pipe(log, { end: false });
  const keepTail = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-20_000);
  };
  child.stderr!.on("data", keepTail);
  const port = await new Promise<number>((resolvePort, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (head.length < 1_000_000) head += chunk.toString();
      const match = /"msg":"gatehouse started"/.test(head) ? /"url":"http:\/\/[^:]+:(\d+)"/.exec(head) : null;
      if (match) resolvePort(Number(match[1]));
    };
    child.stdout!.on("data", onData);
    child.stdout!.on("data", keepTail);
    void exited.then((code) =>
      reject(
        new Error(
          `gatehouse ${options.name} exited (${code}) before listening; log: ${logPath}\n${head.slice(-3000)}`,
        ),
      ),
    );
  });
  const pid = child.pid!;
  const procStat = () => readFileSync(`/proc/${pid}/stat`, "utf8");
  return {
    name: options.name,
    url: `http://127.0.0.1:${port}`,
    port,
    pid,
    env,
    exitCode: () => child.exitCode ?? (child.signalCode === null ? null : -1),
    logTail: (lines = 20) =>
      tail
        .split("\n")
        .slice(-lines - 1)
        .join("\n"),
    rssBytes() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
    },
    cpuSeconds() {
      // Fields after the command name (which may contain spaces): utime is the 14th field, stime the 15th.
      const fields = procStat()
        .slice(procStat().lastIndexOf(")") + 2)
        .split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}
