import { fromBinary } from "@bufbuild/protobuf";
import { VerifyTokenResponseSchema } from "../src/gen/gatehouse/v1/auth_pb.js";
import { expectGrpcOk } from "./check-warm.ts";
import { type Benchmark, fmt, type Ratio, withCleanup } from "./support/benchmark.ts";
import {
  HEALTH_CHECK_PATH,
  healthCheckFrame,
  VERIFY_TOKEN_PATH,
  verifyTokenFrame,
} from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { GRPC_HEADERS, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, connectionsFor, type Measurement } from "./support/load-run.ts";
import { interleave } from "./support/rounds.ts";
import { seedAccess } from "./support/seed.ts";

const CONCURRENCY = [16, 64] as const;
const JSON_HEADERS = { "content-type": "application/json" } as const;

/** A Connect JSON POST over HTTP/1.1 that must answer 200; returns the parsed body. */
async function postJson(url: string, path: string, body: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, { method: "POST", headers: JSON_HEADERS, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * 4. AuthService.VerifyToken, the front door of API services (seed 003's
 * verify-token): over gRPC (h2c) against Health/Check over gRPC, and over
 * Connect JSON on HTTP/1.1 (as a browser or a plain HTTP client sends it)
 * against Health/Check over Connect JSON on HTTP/1.1. Warm caches, a token
 * with access to the named service. On the default server VerifyToken takes
 * the fast paths (gRPC, and Connect JSON) and so does the gRPC Health/Check
 * baseline; the JSON baseline goes through Connect. `--env
 * GRPC_FAST_PATH=false` measures both through Connect (the figures before
 * BENCHMARKS.md finding 13).
 */
export const verifyToken: Benchmark = {
  id: "verify-token",
  title: "VerifyToken over gRPC and over Connect JSON (HTTP/1.1), vs. Health/Check on the same protocol",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "verify-token");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const grpcFrame = verifyTokenFrame(seeded.tokens.accessToken, seeded.serviceId);
      const healthFrame = healthCheckFrame();
      const jsonBody = JSON.stringify({
        token: seeded.tokens.accessToken,
        serviceId: seeded.serviceId,
        requiredRole: "viewer",
      });
      const healthJson = "{}";

      const validate = async () => {
        await expectGrpcOk(server.url, HEALTH_CHECK_PATH, healthFrame, "Health/Check");
        const client = new H2GrpcClient(server.url);
        try {
          const reply = await client.unary(VERIFY_TOKEN_PATH, grpcFrame);
          if (reply.status !== 0)
            throw new Error(`VerifyToken (gRPC): grpc-status ${reply.status} ${reply.message}`);
          const message = fromBinary(VerifyTokenResponseSchema, reply.body.subarray(5));
          if (message.serviceAccess?.granted !== true)
            throw new Error("VerifyToken (gRPC): access not granted");
        } finally {
          client.close();
        }
        const json = await postJson(server.url, VERIFY_TOKEN_PATH, jsonBody);
        if ((json.serviceAccess as { granted?: boolean } | undefined)?.granted !== true) {
          throw new Error(`VerifyToken (JSON): ${JSON.stringify(json).slice(0, 300)}`);
        }
        await postJson(server.url, HEALTH_CHECK_PATH, healthJson);
      };
      await validate();

      const measurements: Measurement[] = [];
      const ratios: Ratio[] = [];
      for (const concurrency of CONCURRENCY) {
        context.log(`verify-token: c=${concurrency}`);
        const { connections, streams } = connectionsFor(concurrency);
        const common = {
          url: server.url,
          durationS: context.durationS,
          warmupS: context.warmupS,
          serverPids: [server.pid],
        };
        const grpc = { ...common, headers: GRPC_HEADERS, connections, streams };
        // HTTP/1.1: one request at a time per connection, as browsers and HTTP client pools do.
        const h1 = { ...common, headers: JSON_HEADERS, connections: concurrency, streams: 1, h1: true };
        const [healthGrpc, verifyGrpc, healthH1, verifyH1] = await interleave(context.rounds, [
          () => runH2load({ ...grpc, path: HEALTH_CHECK_PATH, body: healthFrame }),
          () => runH2load({ ...grpc, path: VERIFY_TOKEN_PATH, body: grpcFrame }),
          () => runH2load({ ...h1, path: HEALTH_CHECK_PATH, body: Buffer.from(healthJson) }),
          () => runH2load({ ...h1, path: VERIFY_TOKEN_PATH, body: Buffer.from(jsonBody) }),
        ]);
        const m = {
          healthGrpc: combineRuns(`Health/Check gRPC (baseline) c=${concurrency}`, healthGrpc!),
          verifyGrpc: combineRuns(`VerifyToken gRPC c=${concurrency}`, verifyGrpc!),
          healthH1: combineRuns(`Health/Check Connect JSON h1 (baseline) c=${concurrency}`, healthH1!),
          verifyH1: combineRuns(`VerifyToken Connect JSON h1 c=${concurrency}`, verifyH1!),
        };
        measurements.push(...Object.values(m));
        ratios.push(
          {
            label: `VerifyToken gRPC c=${concurrency}`,
            value: m.verifyGrpc.throughput / m.healthGrpc.throughput,
            definition: `VerifyToken gRPC req/s ÷ Health/Check gRPC req/s, c=${concurrency} (p99 ${fmt.ms(m.verifyGrpc.p99Ms)} vs ${fmt.ms(m.healthGrpc.p99Ms)} ms)`,
          },
          {
            label: `VerifyToken Connect JSON c=${concurrency}`,
            value: m.verifyH1.throughput / m.healthH1.throughput,
            definition: `VerifyToken Connect JSON req/s ÷ Health/Check Connect JSON req/s, HTTP/1.1, c=${concurrency} (p99 ${fmt.ms(m.verifyH1.p99Ms)} vs ${fmt.ms(m.healthH1.p99Ms)} ms)`,
          },
        );
      }
      await validate();
      return {
        id: "verify-token",
        title: verifyToken.title,
        generator:
          "h2load: gRPC over h2c with a pre-encoded frame (≤ 4 connections × streams); Connect JSON with `--h1`, one connection per concurrent request",
        setup: [
          "PostgreSQL + Redis, one Gatehouse process",
          "VerifyToken names the service (by id) and `viewer`; the response carries the user",
          "VerifyToken and gRPC Health/Check on the fast paths (GRPC_FAST_PATH, default true); Health/Check over Connect JSON through Connect",
        ],
        measurements,
        ratios,
        targets: [],
        tables: [],
        notes: [
          "The issue sets no target for VerifyToken; the ratios are reported against the same baseline as Check's 85% bar.",
        ],
      };
    });
  },
};
