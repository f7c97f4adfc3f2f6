import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { ROOT } from "./root.ts";

/**
 * The Node flags Gatehouse runs with in production (scripts/start.sh, the
 * Dockerfile, package.json's "serve"; test/deploy/node-flags.test.ts keeps them
 * in step), so that what tests and benchmarks start is what is deployed.
 * Extra node arguments come after these and win.
 */
export const GATEHOUSE_NODE_FLAGS: readonly string[] = [
  "--max-semi-space-size=8",
  "--no-allocation-site-pretenuring",
];

/** How much of its output a process handle keeps in memory (the newest part). */
const RETAINED_OUTPUT = 1_000_000;
/** How long stop() waits after SIGTERM before SIGKILL. */
const KILL_AFTER_MS = 30_000;

export interface GatehouseProcessOptions {
  /**
   * Gatehouse's environment, over PORT=0, HOST=127.0.0.1 and LOG_LEVEL=info
   * (readiness is read from the info log). Only PATH and HOME are taken from
   * this process: a variable of the caller's shell never changes what starts.
   */
  readonly env: Record<string, string>;
  /** Node arguments after GATEHOUSE_NODE_FLAGS, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** A file that stdout and stderr are appended to as well. */
  readonly logFile?: string;
  /** Names the process in errors. */
  readonly name?: string;
}

export interface GatehouseProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** The environment it was started with (to start another replica on the same data). */
  readonly env: Readonly<Record<string, string>>;
  /** What it logged on stdout and stderr (the newest megabyte). */
  output(): string;
  /** The exit code once it has exited (-1 if killed by a signal); null while it runs. */
  exitCode(): number | null;
  /** SIGTERM (SIGKILL 30 s later), then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Processes started here and still running. When the runner exits (a test
 * worker or a benchmark that crashed, process.exit) they are killed rather
 * than left listening with their database dropped under them. SIGKILL, not
 * SIGTERM: with the runner's end of its stdout gone, a Gatehouse told to drain
 * hangs writing its shutdown log, and no one is left to wait for a drain.
 */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** The port of the "gatehouse started" line main.ts logs once it listens. */
function listeningPort(output: string): number | undefined {
  const line = output.split("\n").find((entry) => entry.includes('"msg":"gatehouse started"'));
  const port = line === undefined ? undefined : /"url":"http:\/\/[^"]+:(\d+)"/.exec(line)?.[1];
  return port === undefined ? undefined : Number(port);
}

/** Runs `node <flags> src/main.ts` as its own OS process, as a deployment does, and waits until it listens. */
export async function startGatehouseProcess(options: GatehouseProcessOptions): Promise<GatehouseProcess> {
  const env = { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...options.env };
  const name = options.name ?? "gatehouse";
  let log: ReturnType<typeof createWriteStream> | undefined;
  if (options.logFile !== undefined) {
    await mkdir(dirname(options.logFile), { recursive: true });
    log = createWriteStream(options.logFile, { flags: "a" });
  }
  const child = spawn(
    process.execPath,
    [...GATEHOUSE_NODE_FLAGS, ...(options.nodeArgs ?? []), "src/main.ts"],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    log?.write(chunk);
    output += chunk.toString();
    if (output.length > 2 * RETAINED_OUTPUT) output = output.slice(-RETAINED_OUTPUT);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<number | null>((resolveExit) =>
    child.once("exit", (code) => {
      running.delete(child);
      log?.end();
      resolveExit(code);
    }),
  );
  const port = await new Promise<number>((resolvePort, reject) => {
    const onData = () => {
      const found = listeningPort(output);
      if (found === undefined) return;
      child.stdout.off("data", onData);
      resolvePort(found);
    };
    child.stdout.on("data", onData);
    const where = options.logFile === undefined ? "" : `; log: ${options.logFile}`;
    void exited.then((code) =>
      reject(new Error(`${name} exited (${code}) before listening${where}\n${output.slice(-3000)}`)),
    );
  });
  return {
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    env,
    output: () => output.slice(-RETAINED_OUTPUT),
    exitCode: () => child.exitCode ?? (child.signalCode === null ? null : -1),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
