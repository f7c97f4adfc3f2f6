import { fromBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { ListUsersRequestSchema, ListUsersResponseSchema } from "../src/gen/gatehouse/v1/user_pb.js";
import { type Benchmark, fmt, type Target, withCleanup } from "./support/benchmark.ts";
import { grpcFrame } from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { GRPC_HEADERS, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, type LoadRun, type Measurement } from "./support/load-run.ts";
import { interleave } from "./support/rounds.ts";
import { adminLogin } from "./support/seed.ts";
import { summarize } from "./support/stats.ts";

const LIST_USERS_PATH = "/gatehouse.v1.UserService/ListUsers";
const USERS = 100_000;
const PAGE_SIZE = 50;
const DEPTHS = [0, 100, 1000, 1999] as const;
/** The issue-16 target: Gatehouse CPU (user + system, from /proc) per 50-user page. */
const CPU_PER_PAGE_TARGET_MS = 1;

/** Server CPU per call in ms: cores busy ÷ calls per second. */
const cpuPerCallMs = (m: Measurement) => (m.serverCores / m.throughput) * 1000;

/** 100,000 users straight into the table (after the server's migrations), each with the `user` role. */
async function insertUsers(databaseUrl: string, count: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const started = performance.now();
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO users (username, email, email_verified, first_name, last_name, organization, department, title,
                          status, created_at, updated_at)
       SELECT 'bulk-' || lpad(i::text, 6, '0'), 'bulk-' || lpad(i::text, 6, '0') || '@example.bench', true,
              'First' || i, 'Last' || i, 'Example Corp', 'Department ' || (i % 40), 'Engineer',
              CASE WHEN i % 50 = 0 THEN 'disabled' ELSE 'active' END,
              timestamptz '2025-01-01' + i * interval '1 second', timestamptz '2025-01-01' + i * interval '1 second'
       FROM generate_series(1, $1::int) AS i`,
      [count],
    );
    await client.query(
      `INSERT INTO user_roles (user_id, role_id)
       SELECT u.id, r.id FROM users u CROSS JOIN roles r WHERE r.name = 'user' AND u.username LIKE 'bulk-%'`,
    );
    await client.query("COMMIT");
    await client.query("ANALYZE users");
    await client.query("ANALYZE user_roles");
    return performance.now() - started;
  } finally {
    await client.end();
  }
}

/**
 * 8. UserService.ListUsers over 100,000 users on PostgreSQL: keyset
 * pagination (created_at, id) should make page 2000 cost what page 1 costs.
 * The benchmark walks every page once (one call at a time, timing each), then
 * asks for the pages at depths 0, 100, 1000 and 1999 again and again with
 * h2load (one call in flight: the latency of a page). Beside the latencies it
 * reports the Gatehouse process's CPU (user + system, from /proc) per page,
 * which stays comparable when the machine is busy with other work.
 */
export const usersAtScale: Benchmark = {
  id: "users-at-scale",
  title: "ListUsers over 100,000 users (PostgreSQL, keyset pagination): first vs. deep pages",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "users-at-scale");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      context.log(`users-at-scale: inserting ${USERS.toLocaleString("en-US")} users`);
      const insertMs = await insertUsers(deployment.database.url, USERS);
      const admin = (await adminLogin(server.url)).accessToken;
      const auth = { authorization: `Bearer ${admin}` };

      context.log("users-at-scale: walking every page");
      const client = new H2GrpcClient(server.url);
      defer(() => client.close());
      const pageTokens: string[] = [];
      const walk: number[] = [];
      let token = "";
      let users = 0;
      const walkCpuAtStart = server.cpuSeconds();
      for (;;) {
        pageTokens.push(token);
        const frame = grpcFrame(ListUsersRequestSchema, { pageSize: PAGE_SIZE, pageToken: token });
        const started = performance.now();
        const reply = await client.unary(LIST_USERS_PATH, frame, auth);
        walk.push(performance.now() - started);
        if (reply.status !== 0)
          throw new Error(
            `ListUsers page ${pageTokens.length - 1}: grpc-status ${reply.status} ${reply.message}`,
          );
        const page = fromBinary(ListUsersResponseSchema, reply.body.subarray(5));
        users += page.users.length;
        if (page.nextPageToken === "") break;
        token = page.nextPageToken;
      }
      const walkCpuMsPerPage = ((server.cpuSeconds() - walkCpuAtStart) * 1000) / walk.length;
      if (users < USERS) throw new Error(`the walk saw ${users} users, expected at least ${USERS}`);
      const walkRows = [
        [0, 100],
        [100, 1000],
        [1000, pageTokens.length],
      ].map(([from, to]) => {
        const s = summarize(walk.slice(from, to));
        return [
          `pages ${from}–${to! - 1}`,
          String(s.samples),
          fmt.ms(s.p50Ms),
          fmt.ms(s.p99Ms),
          fmt.ms(s.maxMs),
        ];
      });

      context.log("users-at-scale: pages at fixed depths (h2load)");
      const configurations = DEPTHS.map(
        (depth) => () =>
          runH2load({
            url: server.url,
            path: LIST_USERS_PATH,
            body: grpcFrame(ListUsersRequestSchema, { pageSize: PAGE_SIZE, pageToken: pageTokens[depth]! }),
            headers: { ...GRPC_HEADERS, ...auth },
            connections: 1,
            streams: 1,
            durationS: context.durationS,
            warmupS: context.warmupS,
            serverPids: [server.pid],
          }),
      );
      const runs: LoadRun[][] = await interleave(context.rounds, configurations);
      // h2load sees HTTP 200 only: every depth must still answer a full page.
      for (const depth of DEPTHS) {
        const reply = await client.unary(
          LIST_USERS_PATH,
          grpcFrame(ListUsersRequestSchema, { pageSize: PAGE_SIZE, pageToken: pageTokens[depth]! }),
          auth,
        );
        const page = fromBinary(ListUsersResponseSchema, reply.body.subarray(5));
        if (reply.status !== 0 || page.users.length !== PAGE_SIZE)
          throw new Error(`page ${depth}: status ${reply.status}, ${page.users.length} users`);
      }
      const measurements: Measurement[] = DEPTHS.map((depth, index) =>
        combineRuns(`ListUsers page ${depth} (${PAGE_SIZE} users)`, runs[index]!),
      );
      const first = measurements[0]!;
      const deepest = measurements[measurements.length - 1]!;
      // Pooled over the depths: all server CPU seconds ÷ all pages served.
      const pooledCpuMs =
        (measurements.reduce((sum, m) => sum + m.serverCores * m.durationS, 0) * 1000) /
        measurements.reduce((sum, m) => sum + m.requests, 0);
      const targets: Target[] = [
        {
          description: `Gatehouse CPU per ${PAGE_SIZE}-user page ≤ ${CPU_PER_PAGE_TARGET_MS} ms (all depths pooled)`,
          met: pooledCpuMs <= CPU_PER_PAGE_TARGET_MS,
          measured: `${fmt.ms(pooledCpuMs)} ms (${measurements.map((m) => fmt.ms(cpuPerCallMs(m))).join(" / ")} at pages ${DEPTHS.join(" / ")}; the walk ${fmt.ms(walkCpuMsPerPage)})`,
        },
        ...measurements.map((m) => ({
          description: `${m.label}: p99 < 20 ms`,
          met: m.p99Ms < 20,
          measured: `${fmt.ms(m.p99Ms)} ms`,
        })),
        {
          description: "flat with depth: page 1999 p50 within 1.5× of page 0",
          met: deepest.p50Ms <= 1.5 * first.p50Ms,
          measured: `${fmt.ratio(deepest.p50Ms / first.p50Ms)}× (${fmt.ms(deepest.p50Ms)} vs ${fmt.ms(first.p50Ms)} ms)`,
        },
      ];
      return {
        id: "users-at-scale",
        title: usersAtScale.title,
        generator:
          "h2load, one connection, one call in flight (page latency), pre-encoded ListUsersRequest with the page token of each depth; the walk: node:http2 from the benchmark process",
        setup: [
          `${USERS.toLocaleString("en-US")} users inserted with one SQL statement after the migrations (${(insertMs / 1000).toFixed(1)} s, ANALYZE after), each with the \`user\` role; page size ${PAGE_SIZE}; the caller is the bootstrap administrator`,
          "PostgreSQL + Redis, one Gatehouse process",
        ],
        measurements,
        ratios: [
          {
            label: "page 1999 ÷ page 0, p50",
            value: deepest.p50Ms / first.p50Ms,
            definition: "ListUsers p50 at page 1999 ÷ at page 0",
          },
          {
            label: "page 1999 ÷ page 0, p99",
            value: deepest.p99Ms / first.p99Ms,
            definition: "ListUsers p99 at page 1999 ÷ at page 0",
          },
        ],
        targets,
        tables: [
          {
            title: `Gatehouse CPU per page (user + system, from /proc)`,
            columns: ["pages", "pages/s", "server cores", "CPU ms per page", "p50 ms", "p99 ms"],
            rows: [
              ...measurements.map((m) => [
                m.label,
                fmt.rate(m.throughput),
                m.serverCores.toFixed(2),
                fmt.ms(cpuPerCallMs(m)),
                fmt.ms(m.p50Ms),
                fmt.ms(m.p99Ms),
              ]),
              [
                `the walk (${walk.length} pages, one at a time)`,
                fmt.rate(walk.length / (walk.reduce((sum, ms) => sum + ms, 0) / 1000)),
                "",
                fmt.ms(walkCpuMsPerPage),
                fmt.ms(summarize(walk).p50Ms),
                fmt.ms(summarize(walk).p99Ms),
              ],
            ],
          },
          {
            title: `One walk over all ${pageTokens.length} pages, one call at a time (ms)`,
            columns: ["pages", "calls", "p50", "p99", "max"],
            rows: walkRows,
          },
        ],
        notes: [],
      };
    });
  },
};
