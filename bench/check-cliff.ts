import { expectCheckVerdict } from "./check-warm.ts";
import { type Benchmark, fmt, type Ratio, type Target, withCleanup } from "./support/benchmark.ts";
import { distinctCheckFrames } from "./support/cold-tokens.ts";
import { CHECK_PATH } from "./support/grpc-frames.ts";
import { GRPC_HEADERS } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, connectionsFor, type LoadRun, type Measurement } from "./support/load-run.ts";
import { runNodeLoad } from "./support/node-load.ts";
import { seedAccess } from "./support/seed.ts";
import { minterFor } from "./support/token-minter.ts";

const CONCURRENCY = 64;
/** Passes over a working set before it is measured: the cache's admission learns from repeats. */
const PRIMING_PASSES = 2;
/** Passes measured, each over the whole set. */
const MEASURED_PASSES = 1;

/**
 * The verified-token cache's cliff, end to end: Check over the wire with a
 * cyclic working set of distinct valid tokens that fits the cache (0.9×
 * DECISION_CACHE_SIZE) and one that does not (1.5×, the first set and half as
 * many again), each replayed after priming passes. A cyclic set larger than
 * an LRU cache never hits; the best any cache can do with 1.5× is to keep
 * two thirds of it, so a third of these Checks verify a signature whatever the
 * policy: what decides the ratio is the cost of that verification against a
 * hit's. Server CPU per call beside throughput.
 */
export const checkCliff: Benchmark = {
  id: "check-cliff",
  title: "Check (ext_authz), verified-token cache: a working set 1.5× DECISION_CACHE_SIZE vs. 0.9×",
  async run(context) {
    return withCleanup(async (defer) => {
      // The default size, in quick mode too: with a smaller cache the remembered answers (at most
      // 10,000, keyed apart from the tokens) hold much of what the token cache cannot, and a 1.5×
      // set of 20,000 fitted the two together whole.
      const cacheSize = 100_000;
      const deployment = await deploy(context, "check-cliff", { DECISION_CACHE_SIZE: String(cacheSize) });
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const minter = await minterFor(deployment, seeded.tokens.accessToken);
      const all = distinctCheckFrames(Math.round(cacheSize * 1.5), minter, seeded.serviceSlug, "valid");
      await expectCheckVerdict(server.url, all[0]!, 0, "Check with a minted token");
      const { connections, streams } = connectionsFor(CONCURRENCY);
      const common = {
        url: server.url,
        path: CHECK_PATH,
        headers: GRPC_HEADERS,
        connections,
        streamsPerConnection: streams,
        serverPids: [server.pid],
        sampleEvery: 16,
        reuseFrames: true,
        decodeCheckVerdict: true,
      };
      const sets = [
        { label: "0.9×", frames: all.slice(0, Math.round(cacheSize * 0.9)) },
        { label: "1.5×", frames: all },
      ];
      const runs = new Map<string, LoadRun[]>();
      for (let round = 0; round < context.rounds; round++) {
        for (const set of sets) {
          context.log(`check-cliff: working set ${set.label} (${set.frames.length} tokens), priming`);
          await runNodeLoad({
            ...common,
            frames: set.frames,
            maxRequests: set.frames.length * PRIMING_PASSES,
            durationMs: 600_000,
            warmupMs: 0,
          });
          // Whole passes, not a time window: a window shorter than a pass would only replay the
          // set's first tokens (the generator starts at the first frame), which the cache holds.
          context.log(`check-cliff: working set ${set.label}, measuring ${MEASURED_PASSES} pass(es)`);
          const run = await runNodeLoad({
            ...common,
            frames: set.frames,
            maxRequests: set.frames.length * MEASURED_PASSES,
            durationMs: 600_000,
            warmupMs: 0,
          });
          runs.set(set.label, [...(runs.get(set.label) ?? []), run]);
        }
      }
      const measurements: Measurement[] = sets.map((set) =>
        combineRuns(
          `Check, allow, working set ${set.label} DECISION_CACHE_SIZE (${set.frames.length.toLocaleString("en-US")} tokens) c=${CONCURRENCY}`,
          runs.get(set.label)!,
        ),
      );
      for (const m of measurements) {
        if (m.verdicts !== undefined && Object.keys(m.verdicts).some((code) => code !== "0"))
          throw new Error(`Check answered other verdicts than allow: ${JSON.stringify(m.verdicts)}`);
      }
      const [fits, over] = measurements as [Measurement, Measurement];
      const cpuPerCall = (m: Measurement) => (m.serverCores / Math.max(m.throughput, 1e-9)) * 1e6;
      const ratio = over.throughput / fits.throughput;
      const ratios: Ratio[] = [
        {
          label: "Check 1.5× ÷ 0.9× working set",
          value: ratio,
          definition: `Check req/s with a cyclic working set of 1.5× DECISION_CACHE_SIZE ÷ with 0.9× (node-h2, c=${CONCURRENCY})`,
        },
        {
          label: "Check 1.5× ÷ 0.9× working set, server CPU per call",
          value: cpuPerCall(over) / cpuPerCall(fits),
          definition: "server CPU µs/req with the 1.5× working set ÷ with the 0.9× one",
        },
      ];
      const targets: Target[] = [
        {
          description: "a working set 1.5× the cache size keeps ≥ 0.8× the in-cache throughput",
          met: ratio >= 0.8,
          measured: `${fmt.ratio(ratio)} (${cpuPerCall(over).toFixed(0)} against ${cpuPerCall(fits).toFixed(0)} µs of server CPU per call)`,
        },
      ];
      return {
        id: "check-cliff",
        title: checkCliff.title,
        generator: `node-h2 (bench/support/node-load-process.ts), cycling through the working set's pre-encoded frames in order, ≤ 4 connections × streams, c=${CONCURRENCY}`,
        setup: [
          `PostgreSQL + Redis, one Gatehouse process, DECISION_CACHE_SIZE=${cacheSize}`,
          `tokens minted by the benchmark with the server's own signing key (as check-cold); the 1.5× set is the 0.9× set and as many again; ${PRIMING_PASSES} priming passes over a set, then ${MEASURED_PASSES} measured (whole passes, not a time window)`,
        ],
        measurements,
        ratios,
        targets,
        tables: [],
        notes: [],
      };
    });
  },
};
