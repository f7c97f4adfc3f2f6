import {
  type BenchContext,
  type Benchmark,
  fmt,
  type Ratio,
  type Target,
  withCleanup,
} from "./support/benchmark.ts";
import type { BenchServer } from "./support/gatehouse-server.ts";
import {
  CHECK_PATH,
  checkFrame,
  checkVerdict,
  HEALTH_CHECK_PATH,
  healthCheckFrame,
} from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { GRPC_HEADERS, grpcLoad, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, type Measurement } from "./support/load-run.ts";
import { type ReferenceServer, startReferenceServer } from "./support/reference-server.ts";
import { interleave } from "./support/rounds.ts";
import { seedAccess } from "./support/seed.ts";

export const CONCURRENCY = [1, 16, 64] as const;

/** Expects a CheckResponse with the given verdict for this frame, before any load is measured. */
export async function expectCheckVerdict(
  url: string,
  frame: Buffer,
  verdict: number,
  what: string,
): Promise<void> {
  const client = new H2GrpcClient(url);
  try {
    const reply = await client.unary(CHECK_PATH, frame);
    if (reply.status !== 0) throw new Error(`${what}: grpc-status ${reply.status} ${reply.message}`);
    const got = checkVerdict(reply.body);
    if (got !== verdict) throw new Error(`${what}: Check answered status.code ${got}, expected ${verdict}`);
  } finally {
    client.close();
  }
}

export async function expectGrpcOk(url: string, path: string, frame: Buffer, what: string): Promise<void> {
  const client = new H2GrpcClient(url);
  try {
    const reply = await client.unary(path, frame);
    if (reply.status !== 0) throw new Error(`${what}: grpc-status ${reply.status} ${reply.message}`);
  } finally {
    client.close();
  }
}

/**
 * 1. Envoy's Check with warm caches: a valid token of a user granted the
 * service, the same request over and over (the verified-token cache, the
 * subject cache and the service directory all hit), against
 * grpc.health.v1.Health/Check on the same server, port and transport.
 */
export const checkWarm: Benchmark = {
  id: "check-warm",
  title: "Check (ext_authz), warm caches, vs. Health/Check",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "check-warm");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const health = healthCheckFrame();
      const check = checkFrame(seeded.tokens.accessToken, seeded.serviceSlug, "viewer");
      await expectGrpcOk(server.url, HEALTH_CHECK_PATH, health, "Health/Check");
      await expectCheckVerdict(server.url, check, 0, "Check with a valid token");

      const measurements: Measurement[] = [];
      const ratios: Ratio[] = [];
      const targets: Target[] = [];
      // The physical limit, in the same rounds: node:http2 answering constant bytes to the same frames.
      const bare = await startReferenceServer("bench/reference/bare-h2-server.ts");
      defer(() => bare.stop());
      const pairs = await measureClosedLoop(context, server, health, check, "", bare);
      measurements.push(...pairs.measurements);
      ratios.push(...pairs.ratios);
      for (const { concurrency, ratio, subject, bareRatio } of pairs.results) {
        targets.push({
          description: `Check warm c=${concurrency}: ≥ 85% of the baseline's throughput`,
          met: ratio >= 0.85,
          measured: `${(ratio * 100).toFixed(0)}%`,
        });
        if (bareRatio !== undefined) {
          targets.push({
            description: `Check warm c=${concurrency}: ≥ 85% of the bare node:http2 server's throughput`,
            met: bareRatio >= 0.85,
            measured: `${(bareRatio * 100).toFixed(0)}%`,
          });
        }
        if (concurrency === 64) {
          targets.push({
            description: "Check warm c=64: p99 < 5 ms",
            met: subject.p99Ms < 5,
            measured: `${fmt.ms(subject.p99Ms)} ms`,
          });
        }
      }
      // Below saturation: at a fixed rate (a quarter of the baseline's c=64 throughput: the cost per call
      // rises when calls do not arrive in batches) with up to 64 calls in flight, the latency shows the
      // service time rather than the queue of a closed loop.
      const saturated = measurements.find((m) => m.label === "Health/Check (baseline) c=64")!;
      const rate = Math.max(100, Math.floor(saturated.throughput / 4));
      const perConnection = Math.max(1, Math.floor(rate / 4));
      context.log(`check-warm: fixed rate ${perConnection * 4} req/s`);
      const fixedRate = {
        url: server.url,
        headers: GRPC_HEADERS,
        connections: 4,
        streams: 16,
        durationS: context.durationS,
        warmupS: context.warmupS,
        rpsPerConnection: perConnection,
        serverPids: [server.pid],
      };
      const [baselineFixed, checkFixed] = await interleave(context.rounds, [
        () => runH2load({ ...fixedRate, path: HEALTH_CHECK_PATH, body: health }),
        () => runH2load({ ...fixedRate, path: CHECK_PATH, body: check }),
      ]);
      const baselineAtRate = combineRuns(
        `Health/Check (baseline) at ${perConnection * 4} req/s, ≤ 64 in flight`,
        baselineFixed!,
      );
      const checkAtRate = combineRuns(
        `Check, allow, warm at ${perConnection * 4} req/s, ≤ 64 in flight`,
        checkFixed!,
      );
      measurements.push(baselineAtRate, checkAtRate);
      targets.push({
        description: `(supplementary) Check warm at a quarter of the baseline's saturation rate: p99 < 5 ms`,
        met: checkAtRate.p99Ms < 5,
        measured: `${fmt.ms(checkAtRate.p99Ms)} ms (baseline ${fmt.ms(baselineAtRate.p99Ms)} ms)`,
      });
      // The token must still be accepted: h2load only sees HTTP 200, not the verdict.
      await expectCheckVerdict(server.url, check, 0, "Check after the load");

      // The same pairs through Connect (GRPC_FAST_PATH=false): how both calls were served before
      // the fast path, on a second server started for it (the first one stays up, idle).
      const viaConnect = await deploy(context, "check-warm-connect", { GRPC_FAST_PATH: "false" });
      defer(() => viaConnect.stop());
      const connectServer = viaConnect.servers[0]!;
      const connectSeeded = await seedAccess(connectServer.url);
      const connectCheck = checkFrame(connectSeeded.tokens.accessToken, connectSeeded.serviceSlug, "viewer");
      await expectCheckVerdict(connectServer.url, connectCheck, 0, "Check through Connect");
      const connectPairs = await measureClosedLoop(
        context,
        connectServer,
        health,
        connectCheck,
        " (Connect)",
      );
      measurements.push(...connectPairs.measurements);
      ratios.push(...connectPairs.ratios);
      for (const slow of connectPairs.results) {
        const { concurrency } = slow;
        const fast = pairs.results.find((r) => r.concurrency === concurrency)!;
        ratios.push({
          label: `fast path ÷ Connect, Check c=${concurrency}`,
          value: fast.subject.throughput / slow.subject.throughput,
          definition: `Check req/s on the gRPC fast path ÷ Check req/s through Connect (GRPC_FAST_PATH=false), c=${concurrency}`,
        });
      }
      return {
        id: "check-warm",
        title: checkWarm.title,
        generator: `h2load (nghttp2 ${"1.52"}, 1 thread), one pre-encoded CheckRequest / HealthCheckRequest frame; concurrency = connections × streams (≤ 4 connections)`,
        setup: [
          "PostgreSQL + Redis, one Gatehouse process",
          "the token is a real Login token of a user granted `editor`; the route asks for `viewer`",
          "plain gRPC Check and Health/Check are served by the gRPC fast path (the default); the rows marked (Connect) come from a second server with GRPC_FAST_PATH=false (the first one idle meanwhile)",
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

interface PairResult {
  readonly concurrency: number;
  readonly ratio: number;
  readonly subject: Measurement;
  /** Check ÷ the bare node:http2 server, when one was measured beside it. */
  readonly bareRatio?: number;
}

/** Check against Health/Check, alternating, at each concurrency. */
async function measureClosedLoop(
  context: BenchContext,
  server: BenchServer,
  health: Buffer,
  check: Buffer,
  suffix: string,
  bare?: ReferenceServer,
): Promise<{ measurements: Measurement[]; ratios: Ratio[]; results: PairResult[] }> {
  const measurements: Measurement[] = [];
  const ratios: Ratio[] = [];
  const results: PairResult[] = [];
  for (const concurrency of CONCURRENCY) {
    const common = grpcLoad(context, server, concurrency);
    context.log(`check-warm${suffix}: c=${concurrency}`);
    const configurations = [
      () => runH2load({ ...common, path: HEALTH_CHECK_PATH, body: health }),
      () => runH2load({ ...common, path: CHECK_PATH, body: check }),
    ];
    if (bare !== undefined) {
      configurations.push(() =>
        runH2load({ ...common, url: bare.url, serverPids: [bare.pid], path: CHECK_PATH, body: check }),
      );
    }
    const [baselineRuns, checkRuns, bareRuns] = await interleave(context.rounds, configurations);
    const baseline = combineRuns(`Health/Check (baseline)${suffix} c=${concurrency}`, baselineRuns!);
    const subject = combineRuns(`Check, allow, warm${suffix} c=${concurrency}`, checkRuns!);
    measurements.push(baseline, subject);
    let bareRatio: number | undefined;
    if (bareRuns !== undefined) {
      const reference = combineRuns(`reference: bare node:http2, constant answer c=${concurrency}`, bareRuns);
      measurements.push(reference);
      bareRatio = subject.throughput / reference.throughput;
      const cpuPerCall = (m: Measurement) => m.serverCores / Math.max(m.throughput, 1e-9);
      ratios.push(
        {
          label: `Check warm ÷ bare node:http2 c=${concurrency}`,
          value: bareRatio,
          definition: `Check req/s ÷ the bare node:http2 server's req/s (same frame, same h2load), c=${concurrency}`,
        },
        {
          label: `Check warm ÷ bare node:http2, server CPU per call c=${concurrency}`,
          value: cpuPerCall(subject) / cpuPerCall(reference),
          definition: `Check's server CPU µs/req ÷ the bare node:http2 server's, c=${concurrency}`,
        },
      );
    }
    const ratio = subject.throughput / baseline.throughput;
    ratios.push({
      label: `Check warm${suffix} c=${concurrency}`,
      value: ratio,
      definition: `Check req/s ÷ Health/Check req/s${suffix}, c=${concurrency}`,
    });
    results.push({ concurrency, ratio, subject, bareRatio });
  }
  return { measurements, ratios, results };
}
