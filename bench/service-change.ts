import pg from "pg";
import { type Benchmark, fmt, withCleanup } from "./support/benchmark.ts";
import type { BenchServer } from "./support/gatehouse-server.ts";
import { CHECK_PATH, checkFrame, checkVerdict } from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { deploy } from "./support/launch.ts";
import { callJson, seedAccess } from "./support/seed.ts";
import { type LatencySummary, summarize } from "./support/stats.ts";

const EXTRA_SERVICES = 10_000;
const GIVE_UP_MS = 5000;
/** Server CPU per change is read over this long after it: enough for a full reload to finish. */
const SETTLE_MS = 1000;
const CPU_TRIALS = 10;
const UPDATE_SERVICE = "gatehouse.v1.ServiceRegistryService/UpdateService";

/** 10,000 services straight into the table (after the server's migrations). */
async function insertServices(databaseUrl: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO services (slug, display_name, description, audience, roles, hosts)
       SELECT 'bulk-' || i, 'Bulk ' || i, '', 'bulk-' || i, ARRAY['viewer','editor','owner'],
              ARRAY['bulk-' || i || '.internal']
       FROM generate_series(1, $1::int) AS i`,
      [count],
    );
  } finally {
    await client.end();
  }
}

/** Mean server CPU (ms) of a change on A and on B: windows with one change less windows without. */
async function cpuPerChange(
  a: BenchServer,
  b: BenchServer,
  trial: number,
  update: (status: string) => Promise<unknown>,
): Promise<{ aMs: number; bMs: number }> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const windows = { changeA: 0, changeB: 0, idleA: 0, idleB: 0 };
  for (let i = 0; i < CPU_TRIALS; i++) {
    let [fromA, fromB] = [a.cpuSeconds(), b.cpuSeconds()];
    await sleep(SETTLE_MS);
    windows.idleA += a.cpuSeconds() - fromA;
    windows.idleB += b.cpuSeconds() - fromB;
    [fromA, fromB] = [a.cpuSeconds(), b.cpuSeconds()];
    const started = performance.now();
    await update((trial + i) % 2 === 0 ? "SERVICE_STATUS_DISABLED" : "SERVICE_STATUS_ACTIVE");
    await sleep(Math.max(0, started + SETTLE_MS - performance.now()));
    windows.changeA += a.cpuSeconds() - fromA;
    windows.changeB += b.cpuSeconds() - fromB;
  }
  return {
    aMs: ((windows.changeA - windows.idleA) / CPU_TRIALS) * 1000,
    bMs: ((windows.changeB - windows.idleB) / CPU_TRIALS) * 1000,
  };
}

/**
 * A service change at 10,001 services: UpdateService on replica A toggles the
 * seeded service between disabled and active while replica B is asked Check
 * back to back (one call in flight). Records when B first answers by the new
 * state, and the latency of every Check on B meanwhile: a change must never
 * stall a decision. Then the server CPU per change, from /proc: windows of
 * SETTLE_MS with one change and no Checks, less windows with neither.
 */
export const serviceChange: Benchmark = {
  id: "service-change",
  title:
    "Service change at 10,001 services: UpdateService on A → Check on B sees it; Check latency meanwhile",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "service-change-a");
      defer(() => deployment.stop());
      const a = deployment.servers[0]!;
      const b = await deployment.addReplica("service-change-b");
      const seeded = await seedAccess(a.url);
      await insertServices(deployment.database.url, EXTRA_SERVICES);
      const clientB = new H2GrpcClient(b.url);
      defer(() => clientB.close());
      const frame = checkFrame(seeded.tokens.accessToken, seeded.serviceSlug);
      const update = (status: string) =>
        callJson(a.url, UPDATE_SERVICE, { serviceId: seeded.serviceId, status }, seeded.adminToken);
      // Both replicas load the 10,001 services once (announced by this change), then start from "active".
      await update("SERVICE_STATUS_ACTIVE");
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const trials = context.quick ? 10 : 60;
      const visible: number[] = [];
      const updateLatency: number[] = [];
      const checkLatency: number[] = [];
      const baseline: number[] = [];
      for (let trial = 0; trial < trials; trial++) {
        const disable = trial % 2 === 0;
        const wanted = disable ? 7 : 0; // PERMISSION_DENIED (service_disabled), or OK
        for (let i = 0; i < 20; i++) {
          const started = performance.now();
          await clientB.unary(CHECK_PATH, frame);
          baseline.push(performance.now() - started);
        }
        const sent = performance.now();
        let answered = Number.NaN;
        const write = update(disable ? "SERVICE_STATUS_DISABLED" : "SERVICE_STATUS_ACTIVE").then(() => {
          answered = performance.now();
        });
        let seenAt = Number.NaN;
        while (Number.isNaN(seenAt)) {
          const started = performance.now();
          const reply = await clientB.unary(CHECK_PATH, frame);
          const now = performance.now();
          checkLatency.push(now - started);
          if (reply.status !== 0) throw new Error(`Check on B: grpc-status ${reply.status}`);
          if (checkVerdict(reply.body) === wanted) seenAt = now;
          else if (now - sent > GIVE_UP_MS)
            throw new Error(`trial ${trial}: B does not see the change after ${GIVE_UP_MS} ms`);
        }
        await write;
        visible.push(seenAt - sent);
        updateLatency.push(answered - sent);
      }
      const cpu = await cpuPerChange(a, b, trials, update);
      const row = (label: string, s: LatencySummary) => [
        label,
        String(s.samples),
        fmt.ms(s.p50Ms),
        fmt.ms(s.p99Ms),
        fmt.ms(s.maxMs),
      ];
      const propagation = summarize(visible);
      const during = summarize(checkLatency);
      const quiet = summarize(baseline);
      return {
        id: "service-change",
        title: serviceChange.title,
        generator:
          "the benchmark process: Connect JSON UpdateService to A, node:http2 gRPC Check to B (one in flight)",
        setup: [
          `two Gatehouse processes on one PostgreSQL database and one Redis prefix; ${EXTRA_SERVICES + 1} services`,
          `${trials} trials, alternately disabling and enabling the service the user holds a grant on`,
          `server CPU: ${CPU_TRIALS} windows of ${SETTLE_MS} ms after a change (no Checks), less ${CPU_TRIALS} idle windows`,
        ],
        measurements: [],
        ratios: [],
        targets: [
          {
            description: "a service change is visible on another replica within 20 ms at 10,001 services",
            met: propagation.p99Ms <= 20,
            measured: `p50 ${fmt.ms(propagation.p50Ms)} ms, p99 ${fmt.ms(propagation.p99Ms)} ms`,
          },
          {
            description: "a service change never stalls a decision (Check p99 during it ≤ 2× without)",
            met: during.p99Ms <= 2 * quiet.p99Ms,
            measured: `p99 ${fmt.ms(during.p99Ms)} ms during, ${fmt.ms(quiet.p99Ms)} ms without; max ${fmt.ms(during.maxMs)} ms`,
          },
        ],
        tables: [
          {
            title: "Over the trials (ms)",
            columns: ["interval", "samples", "p50", "p99", "max"],
            rows: [
              row("UpdateService sent to A → first Check on B answering by it", propagation),
              row("UpdateService round trip on A (returns once A serves it)", summarize(updateLatency)),
              row("Check on B while the change propagates", during),
              row("Check on B with no change under way", quiet),
            ],
          },
          {
            title: `Server CPU per change (ms; mean of ${CPU_TRIALS} windows less idle ones, 10 ms resolution per window)`,
            columns: ["replica", "CPU per change"],
            rows: [
              ["A (UpdateService, then its own directory)", fmt.ms(cpu.aMs)],
              ["B (hears the change, applies it)", fmt.ms(cpu.bMs)],
            ],
          },
        ],
        notes: [],
        data: { visibleMs: visible, updateMs: updateLatency, cpuPerChangeMs: cpu },
      };
    });
  },
};
