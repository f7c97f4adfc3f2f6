/**
 * The Node load generator, run as its own process (never inside the server):
 * many concurrent HTTP/2 streams over a few connections, each request a
 * pre-encoded gRPC frame — the next one from a file of frames (so every
 * request can carry a different token), or one minted on the spot. Used where
 * h2load cannot vary the body per request; the baselines those figures are
 * compared with are measured with this same generator.
 *
 * Input: the path of a JSON NodeLoadConfig. Output: one JSON NodeLoadResult on stdout.
 */
import { readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { checkFrame, checkVerdict } from "./grpc-frames.ts";
import type { NodeLoadConfig, NodeLoadResult } from "./node-load.ts";
import { TokenMinter } from "./token-minter.ts";

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as NodeLoadConfig;

function splitFrames(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; ) {
    const length = 5 + data.readUInt32BE(offset + 1);
    frames.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return frames;
}

const frames = config.framesFile === undefined ? [] : splitFrames(readFileSync(config.framesFile));
const minter = config.mint === undefined ? undefined : new TokenMinter(config.mint.material);
const forge = config.mint?.forge === true;
const maxRequests = config.maxRequests ?? (config.reuseFrames ? Number.POSITIVE_INFINITY : frames.length);

let next = 0;
function nextFrame(): Buffer | undefined {
  if (next >= maxRequests) return undefined;
  const index = next++;
  if (minter !== undefined) {
    return checkFrame(
      forge ? minter.forge() : minter.mint(),
      config.mint!.service,
      config.mint!.requiredRole,
    );
  }
  return frames[config.reuseFrames ? index % frames.length : index];
}

const headers = {
  ":method": "POST",
  ":path": config.path,
  "content-type": "application/grpc",
  te: "trailers",
  ...config.headers,
};

let latencies = new Float64Array(1 << 20);
let recorded = 0;
let done = 0;
let errors = 0;
let firstError: string | undefined;
const verdicts: Record<string, number> = {};
const start = performance.now();
const measureFrom = start + config.warmupMs;
const deadline = measureFrom + config.durationMs;
let measuredStart = Number.NaN;
let measuredEnd = Number.NaN;
let cpuAtMeasureStart: NodeJS.CpuUsage | undefined;

function record(latency: number, now: number): void {
  if (now < measureFrom) return;
  if (Number.isNaN(measuredStart)) {
    measuredStart = now;
    cpuAtMeasureStart = process.cpuUsage();
  }
  if (recorded === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[recorded++] = latency;
  measuredEnd = now;
}

function fail(message: string): void {
  errors++;
  firstError ??= message;
}

function oneRequest(session: http2.ClientHttp2Session, frame: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const sent = performance.now();
    const stream = session.request(headers);
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    const sample = config.sampleEvery > 0 && done % config.sampleEvery === 0;
    stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
    });
    stream.on("trailers", (h) => {
      grpcStatus = String(h["grpc-status"]);
    });
    stream.on("data", (chunk: Buffer) => {
      if (sample) chunks.push(chunk);
    });
    stream.on("error", (error) => fail(String(error)));
    stream.on("close", () => {
      const now = performance.now();
      done++;
      if (grpcStatus !== "0") fail(`grpc-status ${grpcStatus} (rst ${stream.rstCode})`);
      else if (sample && config.decodeCheckVerdict) {
        const verdict = String(checkVerdict(Buffer.concat(chunks)));
        verdicts[verdict] = (verdicts[verdict] ?? 0) + 1;
      }
      record(now - sent, now);
      resolve();
    });
    stream.end(frame);
  });
}

async function loop(session: http2.ClientHttp2Session): Promise<void> {
  while (performance.now() < deadline) {
    const frame = nextFrame();
    if (frame === undefined) return;
    await oneRequest(session, frame);
  }
}

const sessions = Array.from({ length: config.connections }, () => {
  const session = http2.connect(config.url, { settings: { initialWindowSize: 1 << 20 } });
  session.on("error", (error) => fail(String(error)));
  return session;
});
await Promise.all(
  sessions.flatMap((session) => Array.from({ length: config.streamsPerConnection }, () => loop(session))),
);
const cpuAtMeasureEnd = process.cpuUsage();
for (const session of sessions) session.close();

writeFileSync(config.latencyFile, Buffer.from(latencies.buffer, 0, recorded * 8));
const cpuMicros =
  cpuAtMeasureStart === undefined
    ? 0
    : cpuAtMeasureEnd.user - cpuAtMeasureStart.user + (cpuAtMeasureEnd.system - cpuAtMeasureStart.system);
const durationS = Number.isNaN(measuredStart) ? 0 : (measuredEnd - measuredStart) / 1000;
const result: NodeLoadResult = {
  done,
  recorded,
  errors,
  firstError,
  durationS,
  cpuCores: durationS > 0 ? cpuMicros / 1e6 / durationS : 0,
  cpuSecondsTotal: (cpuAtMeasureEnd.user + cpuAtMeasureEnd.system) / 1e6,
  verdicts,
  ranOutOfFrames: next >= maxRequests && performance.now() < deadline,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
