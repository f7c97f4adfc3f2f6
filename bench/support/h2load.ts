import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchContext } from "./benchmark.ts";
import { CpuMeter } from "./cpu-meter.ts";
import { connectionsFor, type LoadRun } from "./load-run.ts";

export interface H2loadOptions {
  readonly url: string;
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  /** Concurrent streams per connection (HTTP/2); 1 with h1. */
  readonly streams: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** HTTP/1.1 instead of h2c (Connect JSON as browsers send it). */
  readonly h1?: boolean;
  /** A fixed request rate per connection (open loop) instead of as fast as responses come back. */
  readonly rpsPerConnection?: number;
  /** PIDs of the servers under test, for the CPU split. */
  readonly serverPids: readonly number[];
}

/** gRPC over h2c: the pre-encoded frame is the body; h2load counts HTTP 200, so callers validate responses apart. */
export const GRPC_HEADERS = { "content-type": "application/grpc", te: "trailers" } as const;

/** gRPC load on one server at `concurrency` calls in flight, over the context's windows (add path and body). */
export function grpcLoad(
  context: Pick<BenchContext, "durationS" | "warmupS">,
  server: { readonly url: string; readonly pid: number },
  concurrency: number,
) {
  const { connections, streams } = connectionsFor(concurrency);
  return {
    url: server.url,
    headers: GRPC_HEADERS,
    connections,
    streams,
    durationS: context.durationS,
    warmupS: context.warmupS,
    serverPids: [server.pid],
  };
}

/**
 * nghttp2's h2load (C, one thread here): the fast generator for every
 * benchmark whose requests can all carry the same body. Latencies come from
 * its per-request log (--log-file), which covers the measured window only
 * (after --warm-up-time).
 */
export async function runH2load(options: H2loadOptions): Promise<LoadRun> {
  const tag = randomBytes(4).toString("hex");
  const bodyFile = join(tmpdir(), `gatehouse-bench-${tag}.body`);
  const logFile = join(tmpdir(), `gatehouse-bench-${tag}.log`);
  await writeFile(bodyFile, options.body);
  const args = [
    "-t",
    "1",
    "-c",
    String(options.connections),
    "-m",
    String(options.streams),
    "-D",
    String(options.durationS),
    "--warm-up-time",
    String(options.warmupS),
    "-d",
    bodyFile,
    `--log-file=${logFile}`,
    ...Object.entries(options.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    ...(options.h1 ? ["--h1"] : []),
    ...(options.rpsPerConnection === undefined ? [] : [`--rps=${options.rpsPerConnection}`]),
    `${options.url}${options.path}`,
  ];
  const meter = new CpuMeter(options.serverPids);
  const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
  meter.watchGenerator(child.pid!);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const cpu = meter.stop();
  try {
    if (code !== 0) throw new Error(`h2load exited ${code}:\n${output}`);
    const requests =
      /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
        output,
      );
    const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
    if (requests === null || status === null) throw new Error(`unexpected h2load output:\n${output}`);
    const [failed, errored, timeout] = [Number(requests[5]), Number(requests[6]), Number(requests[7])];
    const non2xx = Number(status[2]) + Number(status[3]) + Number(status[4]);
    const lines = (await readFile(logFile, "utf8")).split("\n").filter((line) => line !== "");
    const latenciesMs = new Float64Array(lines.length);
    let badStatus = 0;
    lines.forEach((line, index) => {
      const [, statusCode, micros] = line.split("\t");
      // 0: the response headers arrived during the warm-up; the request still completed in the window.
      if (statusCode !== "200" && statusCode !== "0") badStatus++;
      latenciesMs[index] = Number(micros) / 1000;
    });
    const errors = failed + errored + timeout + non2xx + badStatus;
    return {
      generator: "h2load",
      concurrency: options.connections * options.streams,
      connections: options.connections,
      durationS: options.durationS,
      requests: lines.length,
      errors,
      ...(errors > 0
        ? {
            firstError: output
              .split("\n")
              .filter((l) => /requests:|status codes:/.test(l))
              .join("; "),
          }
        : {}),
      latenciesMs,
      cpu,
    };
  } finally {
    await rm(bodyFile, { force: true });
    await rm(logFile, { force: true });
  }
}
