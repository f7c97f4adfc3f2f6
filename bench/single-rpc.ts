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
 * node flags puts V8's GC lines in the server log. Prints one JSON line of figures.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { BenchContext } from "./support/benchmark.ts";
import { RESULTS_DIR } from "./support/gatehouse-server.ts";
import { CHECK_PATH, checkFrame, HEALTH_CHECK_PATH, healthCheckFrame } from "./support/grpc-frames.ts";
import { grpcLoad, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns } from "./support/load-run.ts";
import { callJson, seedAccess } from "./support/seed.ts";

const [rpc = "check", concurrencyArg = "64", secondsArg = "8", ...nodeArgs] = process.argv.slice(2);
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
  const run = await runH2load({
    ...load,
    path: rpc === "health" ? HEALTH_CHECK_PATH : CHECK_PATH,
    body,
    rpsPerConnection: process.env.RPS === undefined ? undefined : Number(process.env.RPS) / load.connections,
  });
  const m = combineRuns(rpc, [run]);
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
      logsAndProfiles: runDir,
    }),
  );
} finally {
  await deployment.stop();
}
