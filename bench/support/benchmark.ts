import type { Measurement } from "./load-run.ts";

/** Settings shared by every benchmark in one run of bench/run.ts. */
export interface BenchContext {
  /** --quick: shorter windows and fewer rounds and trials, for development. */
  readonly quick: boolean;
  /** Where server logs and CPU profiles of this run go (under bench/results/). */
  readonly runDir: string;
  /** --profile: run the servers with --cpu-prof (profiles land in runDir). */
  readonly profile: boolean;
  /** Extra node flags for the servers from --node-arg (e.g. --stack-trace-limit=0 in an experiment). */
  readonly serverNodeArgs: readonly string[];
  /** Extra server environment from --env KEY=VALUE (e.g. to compare a setting). */
  readonly serverEnv: Readonly<Record<string, string>>;
  /** Measured window and warm-up of each load run, in seconds. */
  readonly durationS: number;
  readonly warmupS: number;
  /** Each configuration runs this many times, alternating with its baseline. */
  readonly rounds: number;
  log(message: string): void;
}

export interface Ratio {
  readonly label: string;
  readonly value: number;
  /** What the ratio compares, e.g. "Check c=64 req/s ÷ Health c=64 req/s". */
  readonly definition: string;
}

export interface Target {
  readonly description: string;
  readonly met: boolean;
  readonly measured: string;
}

export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

export interface BenchmarkResult {
  readonly id: string;
  readonly title: string;
  /** Which load generator produced the figures, and how. */
  readonly generator: string;
  /** The server settings that matter for the figures. */
  readonly setup: readonly string[];
  readonly measurements: readonly Measurement[];
  readonly ratios: readonly Ratio[];
  readonly targets: readonly Target[];
  readonly tables: readonly Table[];
  readonly notes: readonly string[];
  /** Anything else worth keeping in the results file. */
  readonly data?: unknown;
}

export interface Benchmark {
  readonly id: string;
  readonly title: string;
  run(context: BenchContext): Promise<BenchmarkResult>;
}

/** Runs `body` with resources that are released in reverse order whatever happens. */
export async function withCleanup<T>(
  body: (defer: (cleanup: () => unknown) => void) => Promise<T>,
): Promise<T> {
  const cleanups: Array<() => unknown> = [];
  try {
    return await body((cleanup) => cleanups.push(cleanup));
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`bench: cleanup failed: ${String(error)}\n`);
      }
    }
  }
}

export const fmt = {
  rate: (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–"),
  ms: (value: number) =>
    Number.isFinite(value)
      ? value >= 100
        ? value.toFixed(0)
        : value >= 10
          ? value.toFixed(1)
          : value.toFixed(2)
      : "–",
  ratio: (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "–"),
  cores: (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "–"),
  mib: (bytes: number) => (bytes / 2 ** 20).toFixed(0),
};
