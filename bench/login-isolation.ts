import { LoginRequestSchema } from "../src/gen/gatehouse/v1/auth_pb.js";
import { expectCheckVerdict } from "./check-warm.ts";
import { type Benchmark, fmt, type Target, withCleanup } from "./support/benchmark.ts";
import { CHECK_PATH, checkFrame, grpcFrame } from "./support/grpc-frames.ts";
import { GRPC_HEADERS, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, type LoadRun, type Measurement } from "./support/load-run.ts";
import { runNodeLoad } from "./support/node-load.ts";
import { interleave } from "./support/rounds.ts";
import { seedAccess } from "./support/seed.ts";

const LOGIN_PATH = "/gatehouse.v1.AuthService/Login";
const CHECK_CONNECTIONS = 4;

/**
 * 7. Check's latency while Login (argon2id on libuv's thread pool) keeps a
 * core busy. Check runs at a fixed rate — a quarter of what this server
 * sustains at c=16, measured first — so that its latency shows interference rather
 * than its own queueing; Login runs closed-loop from a second generator
 * process with 1 call in flight (one argon2id hash at a time: one core's
 * worth) and, as a harsher case, 4 (every thread of the pool).
 */
export const loginIsolation: Benchmark = {
  id: "login-isolation",
  title: "Login isolation: Check p99 while Login (argon2id) keeps the other core busy",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "login-isolation");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const check = checkFrame(seeded.tokens.accessToken, seeded.serviceSlug);
      await expectCheckVerdict(server.url, check, 0, "Check");
      const loginFrame = grpcFrame(LoginRequestSchema, { login: seeded.username, password: seeded.password });

      context.log("login-isolation: capacity");
      const capacity = await runH2load({
        url: server.url,
        path: CHECK_PATH,
        body: check,
        headers: GRPC_HEADERS,
        connections: CHECK_CONNECTIONS,
        streams: 4,
        durationS: 3,
        warmupS: 1,
        serverPids: [server.pid],
      });
      const rate = Math.max(100, Math.floor((capacity.requests / capacity.durationS) * 0.25));
      const perConnection = Math.max(1, Math.floor(rate / CHECK_CONNECTIONS));

      const checkRun = () =>
        runH2load({
          url: server.url,
          path: CHECK_PATH,
          body: check,
          headers: GRPC_HEADERS,
          connections: CHECK_CONNECTIONS,
          streams: 16,
          durationS: context.durationS,
          warmupS: context.warmupS,
          rpsPerConnection: perConnection,
          serverPids: [server.pid],
        });
      const loginRuns: Record<number, LoadRun[]> = { 1: [], 4: [] };
      const underLogin = (inFlight: 1 | 4) => async () => {
        const login = runNodeLoad({
          url: server.url,
          path: LOGIN_PATH,
          headers: GRPC_HEADERS,
          frames: [loginFrame],
          reuseFrames: true,
          connections: 1,
          streamsPerConnection: inFlight,
          // Starts first, ends last: the whole Check window runs under Login load.
          durationMs: (context.durationS + context.warmupS + 2) * 1000,
          warmupMs: 0,
          sampleEvery: 0,
          decodeCheckVerdict: false,
          serverPids: [server.pid],
        });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const checked = await checkRun();
        loginRuns[inFlight]!.push(await login);
        return checked;
      };
      context.log(
        `login-isolation: Check at ${perConnection * CHECK_CONNECTIONS} req/s, idle vs. under Login`,
      );
      const [idleRuns, login1Runs, login4Runs] = await interleave(context.rounds, [
        checkRun,
        underLogin(1),
        underLogin(4),
      ]);
      const idle = combineRuns("Check, idle", idleRuns!);
      const loaded1 = combineRuns("Check, Login 1 in flight", login1Runs!);
      const loaded4 = combineRuns("Check, Login 4 in flight", login4Runs!);
      const logins1 = combineRuns("Login (1 in flight), during the Check runs", loginRuns[1]!);
      const logins4 = combineRuns("Login (4 in flight), during the Check runs", loginRuns[4]!);
      const measurements: Measurement[] = [idle, loaded1, loaded4, logins1, logins4];
      const targets: Target[] = [
        {
          description: "Check p99 with Login keeping one core busy ≤ 2× its idle p99",
          met: loaded1.p99Ms <= 2 * idle.p99Ms,
          measured: `${fmt.ratio(loaded1.p99Ms / idle.p99Ms)}× (${fmt.ms(loaded1.p99Ms)} vs ${fmt.ms(idle.p99Ms)} ms)`,
        },
      ];
      return {
        id: "login-isolation",
        title: loginIsolation.title,
        generator: `h2load at a fixed rate for Check (--rps ${perConnection} on each of ${CHECK_CONNECTIONS} connections = ${perConnection * CHECK_CONNECTIONS} req/s, a quarter of the ${fmt.rate(capacity.requests / capacity.durationS)} req/s measured closed-loop at c=16); node-h2 (closed loop) for Login over gRPC`,
        setup: [
          "PostgreSQL + Redis, one Gatehouse process; argon2id at the defaults (19 MiB, t=2, p=1), UV_THREADPOOL_SIZE unset (4 threads)",
          "Login signs the same user in again and again (correct password: a session and a refresh token are written each time)",
        ],
        measurements,
        ratios: [
          {
            label: "Check p99, Login ×1 ÷ idle",
            value: loaded1.p99Ms / idle.p99Ms,
            definition: "Check p99 under 1 Login in flight ÷ idle",
          },
          {
            label: "Check p99, Login ×4 ÷ idle",
            value: loaded4.p99Ms / idle.p99Ms,
            definition: "Check p99 under 4 Logins in flight ÷ idle (no target)",
          },
        ],
        targets,
        tables: [],
        notes: [],
      };
    });
  },
};
