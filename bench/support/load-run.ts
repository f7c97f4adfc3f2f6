import type { CpuSplit } from "./cpu-meter.ts";
import { type LatencySummary, summarize } from "./stats.ts";

export type GeneratorName = "h2load" | "node-h2";

/** One closed-loop load run: how many requests completed in the measured window, and how long each took. */
export interface LoadRun {
  readonly generator: GeneratorName;
  readonly concurrency: number;
  readonly connections: number;
  readonly durationS: number;
  readonly requests: number;
  /** Requests that failed at the transport or gRPC level (never expected). */
  readonly errors: number;
  readonly firstError?: string;
  /** Per-request latency in ms, unsorted. */
  readonly latenciesMs: Float64Array;
  readonly cpu: CpuSplit;
  /** Check verdicts (google.rpc.Code) of the sampled responses, when decoded. */
  readonly verdicts?: Readonly<Record<string, number>>;
}

/** What goes into the results file and the tables: figures only, no samples. */
export interface Measurement extends LatencySummary {
  readonly label: string;
  readonly generator: GeneratorName;
  readonly concurrency: number;
  readonly connections: number;
  readonly durationS: number;
  readonly requests: number;
  readonly throughput: number;
  readonly errors: number;
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly otherCores: number;
  readonly verdicts?: Readonly<Record<string, number>>;
}

/** Rounds of the same configuration merged: requests and time add up, samples are pooled. */
export function combineRuns(label: string, runs: readonly LoadRun[]): Measurement {
  const first = runs[0]!;
  const durationS = runs.reduce((sum, run) => sum + run.durationS, 0);
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const total = runs.reduce((n, run) => n + run.latenciesMs.length, 0);
  const samples = new Float64Array(total);
  let offset = 0;
  for (const run of runs) {
    samples.set(run.latenciesMs, offset);
    offset += run.latenciesMs.length;
  }
  const weighted = (pick: (run: LoadRun) => number) =>
    runs.reduce((sum, run) => sum + pick(run) * run.durationS, 0) / durationS;
  let verdicts: Record<string, number> | undefined;
  for (const run of runs) {
    if (run.verdicts === undefined) continue;
    verdicts ??= {};
    for (const [code, count] of Object.entries(run.verdicts)) verdicts[code] = (verdicts[code] ?? 0) + count;
  }
  const errors = runs.reduce((sum, run) => sum + run.errors, 0);
  if (errors > 0) {
    const example = runs.find((run) => run.firstError !== undefined)?.firstError;
    throw new Error(`${label}: ${errors} requests failed (e.g. ${example})`);
  }
  return {
    label,
    generator: first.generator,
    concurrency: first.concurrency,
    connections: first.connections,
    durationS,
    requests,
    throughput: requests / durationS,
    errors,
    ...summarize(samples),
    serverCores: weighted((run) => run.cpu.serverCores),
    generatorCores: weighted((run) => run.cpu.generatorCores),
    otherCores: weighted((run) => run.cpu.otherCores),
    ...(verdicts === undefined ? {} : { verdicts }),
  };
}

/** How a concurrency level is spread over connections: up to 4 connections, the rest as streams on each. */
export function connectionsFor(concurrency: number): { connections: number; streams: number } {
  const connections = Math.min(4, concurrency);
  return { connections, streams: Math.ceil(concurrency / connections) };
}
