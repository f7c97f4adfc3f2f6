import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../src/gen/health/v1/health_pb.js";
import { API_SERVICES } from "../../src/rpc/routes.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpcFrame, rawGrpcCall } from "../support/h2-grpc.ts";

const INVALID_ARGUMENT = 3;
const UNIMPLEMENTED = 12;

/** Every unary method we serve over gRPC, by path. */
const PATHS = [...API_SERVICES, Health].flatMap((service) =>
  service.methods
    .filter((method) => method.methodKind === "unary")
    .map((method) => `/${service.typeName}/${method.name}`),
);

/** Bad bytes a client can send, each with the answer the gRPC spec (and we) give. */
const CASES: Array<{ name: string; body: Buffer; headers: Record<string, string>; status: number }> = [
  {
    name: "a compressed flag without grpc-encoding",
    body: grpcFrame(Buffer.from([0x0a, 0x01, 0x61]), true),
    headers: {},
    status: INVALID_ARGUMENT,
  },
  {
    name: "a compressed flag with grpc-encoding: identity",
    body: grpcFrame(Buffer.from([0x0a, 0x01, 0x61]), true),
    headers: { "grpc-encoding": "identity" },
    status: INVALID_ARGUMENT,
  },
  // zlib reports these two differently (truncated stream, bad header): both were INTERNAL.
  {
    name: "brotli junk that ends early",
    body: grpcFrame(Buffer.from("8b02806869210a03", "hex"), true),
    headers: { "grpc-encoding": "br" },
    status: INVALID_ARGUMENT,
  },
  {
    name: "brotli junk",
    body: grpcFrame(Buffer.from("1b", "hex"), true),
    headers: { "grpc-encoding": "br" },
    status: INVALID_ARGUMENT,
  },
  {
    name: "gzip junk",
    body: grpcFrame(Buffer.from("not gzip at all"), true),
    headers: { "grpc-encoding": "gzip" },
    status: INVALID_ARGUMENT,
  },
  {
    name: "an encoding we do not support",
    body: grpcFrame(Buffer.from("28b52ffd", "hex"), true),
    headers: { "grpc-encoding": "zstd" },
    status: UNIMPLEMENTED,
  },
];

/**
 * A client's bad gRPC framing is the client's error on every method, and the
 * gRPC fast path (Check, Health/Check) answers as Connect does: one replica
 * with the fast path, one without, on the same data.
 */
describe("bad gRPC framing on every method, fast path and Connect alike", () => {
  let fast: TestGatehouse;
  let connect: TestGatehouse;
  beforeAll(async () => {
    fast = await startTestGatehouse({ backend: "postgres" });
    connect = await startTestGatehouse({
      backend: "postgres",
      shareWith: fast,
      env: { GRPC_FAST_PATH: "false" },
    });
  });
  afterAll(async () => {
    await connect?.stop();
    await fast?.stop();
  });

  it("covers every unary method", () => {
    expect(PATHS).toContain("/envoy.service.auth.v3.Authorization/Check");
    expect(PATHS).toContain("/grpc.health.v1.Health/Check");
    expect(PATHS.length).toBeGreaterThanOrEqual(62);
  });

  it.each(CASES)(
    "answers $name with the client's error, never INTERNAL",
    async ({ body, headers, status }) => {
      const answers: string[] = [];
      for (const path of PATHS) {
        for (const [server, replica] of [
          ["fast", fast],
          ["connect", connect],
        ] as const) {
          const reply = await rawGrpcCall(replica.url, path, body, headers);
          const accept = reply.headers["grpc-accept-encoding"] ?? reply.trailers["grpc-accept-encoding"];
          answers.push(
            `${path} ${server}: ${reply.status}${status === UNIMPLEMENTED ? ` accept=${accept}` : ""}`,
          );
        }
      }
      const expected = PATHS.flatMap((path) =>
        ["fast", "connect"].map(
          (server) => `${path} ${server}: ${status}${status === UNIMPLEMENTED ? " accept=gzip,br" : ""}`,
        ),
      );
      expect(answers).toEqual(expected);
    },
  );
});
