import { expectCheckVerdict, expectGrpcOk } from "./check-warm.ts";
import { type Benchmark, type Ratio, type Target, withCleanup } from "./support/benchmark.ts";
import { distinctCheckFrames, framesNeeded } from "./support/cold-tokens.ts";
import { CHECK_PATH, checkFrame, HEALTH_CHECK_PATH, healthCheckFrame } from "./support/grpc-frames.ts";
import { GRPC_HEADERS } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, connectionsFor, type LoadRun, type Measurement } from "./support/load-run.ts";
import { runNodeLoad } from "./support/node-load.ts";
import { startReferenceServer } from "./support/reference-server.ts";
import { interleave } from "./support/rounds.ts";
import { seedAccess } from "./support/seed.ts";
import { minterFor } from "./support/token-minter.ts";

const CONCURRENCY = [1, 16, 64] as const;

/**
 * 2. Check with a token never seen before on every request: the signature is
 * verified each time (the verified-token cache only fills up). h2load sends
 * one body over and over, so this uses the Node generator with a
 * pre-encoded frame per request; the baseline is measured with that same
 * generator (and, for reference, the warm Check too).
 */
export const checkCold: Benchmark = {
  id: "check-cold",
  title: "Check (ext_authz), cold: a new token on every request, vs. Health/Check",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "check-cold");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const minter = await minterFor(deployment, seeded.tokens.accessToken);
      const health = healthCheckFrame();
      const warm = checkFrame(seeded.tokens.accessToken, seeded.serviceSlug, "viewer");
      await expectGrpcOk(server.url, HEALTH_CHECK_PATH, health, "Health/Check");
      for (const frame of distinctCheckFrames(3, minter, seeded.serviceSlug, "valid")) {
        await expectCheckVerdict(server.url, frame, 0, "Check with a minted token");
      }

      // The physical limit of a cold Check, in the same run: node:http2 taking the token out of the
      // same frames and running jose.jwtVerify on it (bench/reference/jose-verify-h2-server.ts).
      const joseVerify = await startReferenceServer("bench/reference/jose-verify-h2-server.ts", {
        JWKS_URL: `${server.url}/.well-known/jwks.json`,
      });
      defer(() => joseVerify.stop());
      for (const frame of distinctCheckFrames(2, minter, seeded.serviceSlug, "valid")) {
        await expectCheckVerdict(joseVerify.url, frame, 0, "the jose reference with a minted token");
      }
      await expectCheckVerdict(
        joseVerify.url,
        distinctCheckFrames(1, minter, seeded.serviceSlug, "forged")[0]!,
        16,
        "the jose reference with a forged token",
      );

      let fastest = 0;
      const measurements: Measurement[] = [];
      const ratios: Ratio[] = [];
      const targets: Target[] = [];
      const notes: string[] = [];
      for (const concurrency of CONCURRENCY) {
        const { connections, streams } = connectionsFor(concurrency);
        const common = {
          url: server.url,
          headers: GRPC_HEADERS,
          connections,
          streamsPerConnection: streams,
          durationMs: context.durationS * 1000,
          warmupMs: context.warmupS * 1000,
          serverPids: [server.pid],
          sampleEvery: 16,
        };
        context.log(`check-cold: c=${concurrency}`);
        const note = (run: LoadRun & { ranOutOfFrames: boolean }) => {
          fastest = Math.max(fastest, run.requests / Math.max(run.durationS, 0.001));
          if (run.ranOutOfFrames)
            notes.push(
              `c=${concurrency}: a cold run used up its pre-minted tokens and measured ${run.durationS.toFixed(1)} s`,
            );
          return run;
        };
        /** A cold run (a new token in every frame) against Gatehouse, or the reference. */
        const coldRun = (target: { url?: string; serverPids?: number[] }) =>
          runNodeLoad({
            ...common,
            ...target,
            path: CHECK_PATH,
            frames: distinctCheckFrames(
              framesNeeded(fastest, context.durationS, context.warmupS),
              minter,
              seeded.serviceSlug,
              "valid",
            ),
            decodeCheckVerdict: true,
          });
        const configurations = [
          async () =>
            note(
              await runNodeLoad({
                ...common,
                path: HEALTH_CHECK_PATH,
                frames: [health],
                reuseFrames: true,
                decodeCheckVerdict: false,
              }),
            ),
          async () => note(await coldRun({})),
          // The reference, fed the same kind of frames by the same generator.
          async () => note(await coldRun({ url: joseVerify.url, serverPids: [joseVerify.pid] })),
        ];
        if (concurrency === 64) {
          configurations.push(async () =>
            note(
              await runNodeLoad({
                ...common,
                path: CHECK_PATH,
                frames: [warm],
                reuseFrames: true,
                decodeCheckVerdict: true,
              }),
            ),
          );
        }
        const [baselineRuns, coldRuns, joseRuns, warmRuns] = await interleave(context.rounds, configurations);
        const baseline = combineRuns(`Health/Check (baseline) c=${concurrency}`, baselineRuns!);
        const cold = combineRuns(`Check, allow, cold c=${concurrency}`, coldRuns!);
        const jose = combineRuns(
          `reference: jose.jwtVerify on node:http2, same frames, c=${concurrency}`,
          joseRuns!,
        );
        measurements.push(baseline, cold, jose);
        if (cold.verdicts !== undefined && Object.keys(cold.verdicts).some((code) => code !== "0")) {
          throw new Error(`cold Check answered other verdicts than allow: ${JSON.stringify(cold.verdicts)}`);
        }
        const ratio = cold.throughput / baseline.throughput;
        ratios.push({
          label: `Check cold c=${concurrency}`,
          value: ratio,
          definition: `cold Check req/s ÷ Health/Check req/s (both node-h2), c=${concurrency}`,
        });
        const cpuPerCall = (m: Measurement) => m.serverCores / Math.max(m.throughput, 1e-9);
        const cost = cpuPerCall(cold) / cpuPerCall(jose);
        ratios.push(
          {
            label: `Check cold ÷ jose.jwtVerify c=${concurrency}`,
            value: cold.throughput / jose.throughput,
            definition: `cold Check req/s ÷ the jose.jwtVerify reference's req/s (both node-h2, a new token each request), c=${concurrency}`,
          },
          {
            label: `Check cold ÷ jose.jwtVerify, server CPU per call c=${concurrency}`,
            value: cost,
            definition: `cold Check's server CPU µs/req ÷ the jose.jwtVerify reference's, c=${concurrency}`,
          },
        );
        targets.push({
          description: `Check cold c=${concurrency}: server CPU per call ≤ 1.15× the bare jose.jwtVerify server's`,
          met: cost <= 1.15,
          measured: `${cost.toFixed(2)}× (${(cpuPerCall(cold) * 1e6).toFixed(0)} against ${(cpuPerCall(jose) * 1e6).toFixed(0)} µs)`,
        });
        if (warmRuns !== undefined) {
          const warmMeasurement = combineRuns(`Check, allow, warm c=${concurrency} (reference)`, warmRuns);
          measurements.push(warmMeasurement);
          ratios.push({
            label: `Check cold ÷ warm c=${concurrency}`,
            value: cold.throughput / warmMeasurement.throughput,
            definition: `cold Check req/s ÷ warm Check req/s (both node-h2), c=${concurrency}: the price of verifying a signature`,
          });
        }
      }
      return {
        id: "check-cold",
        title: checkCold.title,
        generator:
          "node-h2 (bench/support/node-load-process.ts: node:http2 client in its own process, ≤ 4 connections × streams, one pre-encoded frame per request, a fresh token in each); baseline with the same generator",
        setup: [
          "PostgreSQL + Redis, one Gatehouse process, DECISION_CACHE_SIZE=100000 (default)",
          "tokens minted by the benchmark with the server's own signing key (read from its database, opened with its KEY_ENCRYPTION_KEY through src/identity/local/sealer.ts), copies of a real Login token with a new jti/iat/exp; every sampled response is checked to be an allow",
        ],
        measurements,
        ratios,
        targets,
        tables: [],
        notes,
      };
    });
  },
};
