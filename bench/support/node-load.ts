import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CpuMeter } from "./cpu-meter.ts";
import type { LoadRun } from "./load-run.ts";
import type { MintingMaterial } from "./token-minter.ts";

export interface NodeLoadConfig {
  readonly url: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Concatenated gRPC frames; request i sends frame i. */
  readonly framesFile?: string;
  /** Cycle through the frames instead of stopping when they run out. */
  readonly reuseFrames?: boolean;
  /** Mint a token per request and send it in a Check (the memory benchmark). */
  readonly mint?: {
    readonly material: MintingMaterial;
    readonly service: string;
    readonly requiredRole: string;
    readonly forge?: boolean;
  };
  readonly maxRequests?: number;
  readonly connections: number;
  readonly streamsPerConnection: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly latencyFile: string;
  /** Decode the CheckResponse of every n-th response (0: never). */
  readonly sampleEvery: number;
  readonly decodeCheckVerdict: boolean;
}

export interface NodeLoadResult {
  readonly done: number;
  readonly recorded: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly durationS: number;
  /** The generator's own CPU use over the measured window, in cores. */
  readonly cpuCores: number;
  /** Its CPU seconds over its whole life (start-up and warm-up included). */
  readonly cpuSecondsTotal: number;
  readonly verdicts: Record<string, number>;
  readonly ranOutOfFrames: boolean;
}

const PROCESS = resolve(import.meta.dirname, "node-load-process.ts");

export type NodeLoadOptions = Omit<NodeLoadConfig, "latencyFile" | "framesFile"> & {
  readonly frames?: readonly Buffer[];
  readonly serverPids: readonly number[];
};

/** Runs the Node generator (node-load-process.ts) in its own process and collects its figures. */
export async function runNodeLoad(options: NodeLoadOptions): Promise<LoadRun & { ranOutOfFrames: boolean }> {
  const tag = randomBytes(4).toString("hex");
  const configFile = join(tmpdir(), `gatehouse-bench-${tag}.json`);
  const latencyFile = join(tmpdir(), `gatehouse-bench-${tag}.lat`);
  const framesFile =
    options.frames === undefined ? undefined : join(tmpdir(), `gatehouse-bench-${tag}.frames`);
  const { frames, serverPids, ...rest } = options;
  if (framesFile !== undefined) await writeFile(framesFile, Buffer.concat(frames!));
  const config: NodeLoadConfig = {
    ...rest,
    latencyFile,
    ...(framesFile === undefined ? {} : { framesFile }),
  };
  await writeFile(configFile, JSON.stringify(config));
  const meter = new CpuMeter(serverPids);
  const child = spawn(process.execPath, [PROCESS, configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
  try {
    if (code !== 0) throw new Error(`node load generator exited ${code}:\n${stderr}`);
    const result = JSON.parse(stdout) as NodeLoadResult;
    meter.setGeneratorSeconds(result.cpuSecondsTotal);
    const cpu = { ...meter.stop(), generatorCores: result.cpuCores };
    const raw = await readFile(latencyFile);
    const latenciesMs = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    return {
      generator: "node-h2",
      concurrency: options.connections * options.streamsPerConnection,
      connections: options.connections,
      durationS: result.durationS,
      requests: result.recorded,
      errors: result.errors,
      ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
      latenciesMs,
      cpu,
      verdicts: result.verdicts,
      ranOutOfFrames: result.ranOutOfFrames,
    };
  } finally {
    meter.stop();
    for (const file of [configFile, latencyFile, framesFile])
      if (file !== undefined) await rm(file, { force: true });
  }
}
