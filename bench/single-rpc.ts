/**
 * One RPC under h2load on a fresh Gatehouse process, for profiling and flag
 * experiments (BENCHMARKS.md cites runs of it); not part of `npm run bench`.
 *
 *   scripts/node24.sh node bench/single-rpc.ts <check|check-revoked|health> [concurrency=64] [seconds=8] [node flags…]
 *
 * check-revoked sends the same Check with a token whose session was ended by Logout (a deny).
 *
 * PROFILE=1 runs the server with --cpu-prof (then: node bench/profile-summary.ts <file>);
 * RPS=N drives a fixed total rate instead of a closed loop; --trace-gc among the
 * node flags puts V8's GC lines in the server log. GC=1 runs the server with
 * --trace-gc-nvp and adds what V8 reported for the load (warm-up included):
 * bytes allocated and promoted to the old generation per call, scavenges,
 * other collections, and their pauses. Prints one JSON line of figures.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { BenchContext } from "./support/benchmark.ts";
import { RESULTS_DIR } from "./support/gatehouse-server.ts";
import { CHECK_PATH, checkFrame, HEALTH_CHECK_PATH, healthCheckFrame } from "./support/grpc-frames.ts";
import { grpcLoad, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns } from "./support/load-run.ts";
import { callJson, seedAccess } from "./support/seed.ts";

const [rpc = "check", concurrencyArg = "64", secondsArg = "8", ...extraNodeArgs] = process.argv.slice(2);
const gcReport = process.env.GC === "1";
const nodeArgs = gcReport ? [...extraNodeArgs, "--trace-gc-nvp"] : extraNodeArgs;
if (rpc !== "check" && rpc !== "check-revoked" && rpc !== "health") {
  process.stderr.write(
    "usage: node bench/single-rpc.ts <check|check-revoked|health> [concurrency] [seconds] [node flags…]\n",
  );
  process.exit(2);
}
const runDir = resolve(RESULTS_DIR, `single-rpc-${new Date().toISOString().replace(/[:.]/g, "-")}`);
mkdirSync(runDir, { recursive: true });
const context: BenchContext = {
  quick: false,
  runDir,
  profile: process.env.PROFILE === "1",
  serverNodeArgs: nodeArgs,
  serverEnv: {},
  durationS: Number(secondsArg),
  warmupS: 2,
  rounds: 1,
  log: (line) => process.stderr.write(`${line}\n`),
};
const deployment = await deploy(context, rpc);
try {
  const server = deployment.servers[0]!;
  const seeded = await seedAccess(server.url);
  if (rpc === "check-revoked") {
    await callJson(server.url, "gatehouse.v1.AuthService/Logout", {
      refreshToken: seeded.tokens.refreshToken,
    });
  }
  const body =
    rpc === "health"
      ? healthCheckFrame()
      : checkFrame(seeded.tokens.accessToken, seeded.serviceSlug, "viewer");
  const load = grpcLoad(context, server, Number(concurrencyArg));
  const serverLog = resolve(runDir, `${rpc}.log`);
  const logBefore = gcReport ? statSync(serverLog).size : 0;
  const run = await runH2load({
    ...load,
    path: rpc === "health" ? HEALTH_CHECK_PATH : CHECK_PATH,
    body,
    rpsPerConnection: process.env.RPS === undefined ? undefined : Number(process.env.RPS) / load.connections,
  });
  const m = combineRuns(rpc, [run]);
  const calls = m.throughput * (context.durationS + context.warmupS);
  const gc = gcReport
    ? gcDuringLoad(readFileSync(serverLog).subarray(logBefore).toString(), calls)
    : undefined;
  console.log(
    JSON.stringify({
      rpc,
      concurrency: Number(concurrencyArg),
      nodeArgs,
      reqPerS: Math.round(m.throughput),
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      p999Ms: m.p999Ms,
      cores: { server: m.serverCores, generator: m.generatorCores, other: m.otherCores },
      ...(gc === undefined ? {} : { gc }),
      logsAndProfiles: runDir,
    }),
  );
} finally {
  await deployment.stop();
}

/** V8's --trace-gc-nvp lines written while the load ran, summed (per call where it divides). */
function gcDuringLoad(log: string, calls: number) {
  let allocated = 0;
  let promoted = 0;
  let scavenges = 0;
  let others = 0;
  let pauseMs = 0;
  let maxPauseMs = 0;
  for (const line of log.split("\n")) {
    const kind = / gc=(\S+)/.exec(line)?.[1];
    if (kind === undefined) continue;
    const field = (name: string) => Number(new RegExp(` ${name}=([0-9.]+)`).exec(line)?.[1] ?? 0);
    const pause = field("pause");
    pauseMs += pause;
    maxPauseMs = Math.max(maxPauseMs, pause);
    if (kind === "s") {
      scavenges++;
      allocated += field("allocated");
      promoted += field("promoted");
    } else others++;
  }
  return {
    allocatedBytesPerCall: Math.round(allocated / calls),
    promotedBytesPerCall: Math.round(promoted / calls),
    scavenges,
    otherCollections: others,
    pauseMsPerSecond: Number((pauseMs / (context.durationS + context.warmupS)).toFixed(1)),
    maxPauseMs,
  };
}
