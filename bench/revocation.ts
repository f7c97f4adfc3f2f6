import { LogoutRequestSchema } from "../src/gen/gatehouse/v1/auth_pb.js";
import { type Benchmark, fmt, withCleanup } from "./support/benchmark.ts";
import { CHECK_PATH, checkFrame, checkVerdict, grpcFrame } from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { deploy } from "./support/launch.ts";
import { login, seedAccess } from "./support/seed.ts";
import { summarize } from "./support/stats.ts";

const LOGOUT_PATH = "/gatehouse.v1.AuthService/Logout";
const GIVE_UP_MS = 5000;

/**
 * 6. Revocation across replicas: two Gatehouse processes on one database and
 * one Redis. Each trial signs in on A, makes sure B allows the new token (so
 * B has verified and cached it), then sends Logout to A while B is asked
 * Check back to back (one call in flight at a time, over one HTTP/2
 * connection), and records when B first denies. Times are taken in the
 * benchmark process, from the moment the Logout request is written.
 */
export const revocation: Benchmark = {
  id: "revocation",
  title: "Revocation propagation: Logout on replica A → first denied Check on replica B",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "revocation-a");
      defer(() => deployment.stop());
      const a = deployment.servers[0]!;
      const b = await deployment.addReplica("revocation-b");
      const seeded = await seedAccess(a.url);
      const clientA = new H2GrpcClient(a.url);
      const clientB = new H2GrpcClient(b.url);
      defer(() => {
        clientA.close();
        clientB.close();
      });

      const trials = context.quick ? 30 : 200;
      const fromSent: number[] = [];
      const fromAnswered: number[] = [];
      const logoutLatency: number[] = [];
      const polls: number[] = [];
      for (let trial = 0; trial < trials; trial++) {
        const tokens = await login(a.url, seeded.username, seeded.password);
        const frame = checkFrame(tokens.accessToken, seeded.serviceSlug);
        const before = await clientB.unary(CHECK_PATH, frame);
        if (before.status !== 0 || checkVerdict(before.body) !== 0)
          throw new Error(`trial ${trial}: B does not allow the new token`);

        const sent = performance.now();
        let answered = Number.NaN;
        const logout = clientA
          .unary(LOGOUT_PATH, grpcFrame(LogoutRequestSchema, { refreshToken: tokens.refreshToken }))
          .then((reply) => {
            answered = performance.now();
            if (reply.status !== 0) throw new Error(`Logout: grpc-status ${reply.status} ${reply.message}`);
          });
        let deniedAt = Number.NaN;
        let count = 0;
        while (Number.isNaN(deniedAt)) {
          const reply = await clientB.unary(CHECK_PATH, frame);
          count++;
          if (reply.status !== 0) throw new Error(`Check on B: grpc-status ${reply.status}`);
          const verdict = checkVerdict(reply.body);
          if (verdict === 16) deniedAt = performance.now();
          else if (verdict !== 0) throw new Error(`Check on B: unexpected verdict ${verdict}`);
          else if (performance.now() - sent > GIVE_UP_MS)
            throw new Error(`trial ${trial}: B still allows the token after ${GIVE_UP_MS} ms`);
        }
        await logout;
        fromSent.push(deniedAt - sent);
        fromAnswered.push(deniedAt - answered);
        logoutLatency.push(answered - sent);
        polls.push(count);
      }
      const propagation = summarize(fromSent);
      const afterAnswer = summarize(fromAnswered);
      const logoutSummary = summarize(logoutLatency);
      const pollSummary = summarize(polls);
      const row = (label: string, s: ReturnType<typeof summarize>) => [
        label,
        String(s.samples),
        fmt.ms(s.p50Ms),
        fmt.ms(s.p99Ms),
        fmt.ms(s.maxMs),
        fmt.ms(s.meanMs),
      ];
      return {
        id: "revocation",
        title: revocation.title,
        generator:
          "the benchmark process: node:http2 gRPC calls (one in flight at a time) to A (Logout) and B (Check)",
        setup: [
          "two Gatehouse processes on one PostgreSQL database and one Redis prefix (change feed: database row, then pub/sub; CHANGE_FEED_POLL_MS=5000 backstop)",
          `${trials} trials, a fresh session each (Login on A)`,
        ],
        measurements: [],
        ratios: [],
        targets: [
          {
            description: "revocation reaches the other replica: p99 < 100 ms",
            met: propagation.p99Ms < 100,
            measured: `p50 ${fmt.ms(propagation.p50Ms)} ms, p99 ${fmt.ms(propagation.p99Ms)} ms, max ${fmt.ms(propagation.maxMs)} ms`,
          },
        ],
        tables: [
          {
            title: "Propagation over the trials (ms)",
            columns: ["interval", "trials", "p50", "p99", "max", "mean"],
            rows: [
              row("Logout sent to A → first denied Check on B", propagation),
              row("Logout answered by A → first denied Check on B (negative: B denied first)", afterAnswer),
              row("Logout round trip on A", logoutSummary),
            ],
          },
        ],
        notes: [
          `Checks sent to B per trial until the first denial: median ${pollSummary.p50Ms}, max ${pollSummary.maxMs} (the resolution of the figure is one Check round trip).`,
        ],
        data: { fromSentMs: fromSent, fromAnsweredMs: fromAnswered, logoutMs: logoutLatency },
      };
    });
  },
};
