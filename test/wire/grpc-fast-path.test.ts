import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CheckRequest,
  CheckRequestSchema,
  CheckResponseSchema,
} from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../src/gen/health/v1/health_pb.js";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpcFrame, grpcMessage, gzipFrame, rawGrpcCall } from "../support/h2-grpc.ts";
import { IDENTITY_ENV, loginTokens, TEST_ADMIN } from "../support/identity.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const BROWSER_ORIGIN = "https://console.example.test";
const HEALTH = "/grpc.health.v1.Health/Check";

/**
 * The lean path for plain gRPC Check and Health/Check (src/server/grpc-fast-path.ts)
 * against Connect serving the same methods: one replica with the fast path, one
 * without (GRPC_FAST_PATH=false) on the same data, asked the same questions in
 * the same bytes, must answer alike; and the fast path's own handling of bad
 * frames, deadlines, sizes and compressed requests.
 */
describe("gRPC fast path (PostgreSQL + Redis)", () => {
  let fast: TestGatehouse;
  let connect: TestGatehouse;
  const checks: Record<string, CheckRequest> = {};

  beforeAll(async () => {
    fast = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, CORS_ORIGINS: BROWSER_ORIGIN },
    });
    connect = await startTestGatehouse({
      backend: "postgres",
      shareWith: fast,
      env: { GRPC_FAST_PATH: "false" },
    });
    const admin = (await loginTokens(fast.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const granted = await createService(fast.url, admin);
    const other = await createService(fast.url, admin);
    const user = await createUser(fast.url, admin);
    await setGrants(fast.url, admin, user.id, [{ serviceId: granted.id, role: "editor" }]);
    const token = (await loginTokens(fast.url, user.username, user.password)).accessToken;
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const forged = `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    const envoyCheck = (authorization: string | undefined, service: string) =>
      create(CheckRequestSchema, {
        attributes: {
          request: {
            http: {
              method: "GET",
              path: "/orders",
              host: "orders.internal",
              headers: {
                ":authority": "orders.internal",
                ":path": "/orders",
                ...(authorization === undefined ? {} : { authorization }),
              },
            },
          },
          contextExtensions: { service, required_role: "viewer" },
        },
      });
    checks.allow = envoyCheck(`Bearer ${token}`, granted.slug);
    checks.missing = envoyCheck(undefined, granted.slug);
    checks.forged = envoyCheck(`Bearer ${forged}`, granted.slug);
    checks.noGrant = envoyCheck(`Bearer ${token}`, other.slug);
  });

  afterAll(async () => {
    await connect?.stop();
    await fast?.stop();
  });

  const checkFrame = (name: string) => grpcFrame(toBinary(CheckRequestSchema, checks[name]!));

  it.each([
    ["allow", 0],
    ["missing", 16],
    ["forged", 16],
    ["noGrant", 7],
  ] as const)("Check (%s) answers as Connect does, byte for byte", async (name, verdict) => {
    const [viaFast, viaConnect] = await Promise.all([
      rawGrpcCall(fast.url, CHECK, checkFrame(name)),
      rawGrpcCall(connect.url, CHECK, checkFrame(name)),
    ]);
    expect(viaFast.status).toBe(0);
    expect(viaConnect.status).toBe(0);
    expect(viaFast.headers["content-type"]).toBe("application/grpc");
    const response = fromBinary(CheckResponseSchema, grpcMessage(viaFast.body));
    expect(response.status?.code).toBe(verdict);
    expect(response).toEqual(fromBinary(CheckResponseSchema, grpcMessage(viaConnect.body)));
  });

  it("leaves a call with an Origin to the full server, whose answer carries the CORS headers", async () => {
    const fromBrowser = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"), { origin: BROWSER_ORIGIN });
    expect(fromBrowser.status).toBe(0);
    expect(fromBrowser.headers["access-control-allow-origin"]).toBe(BROWSER_ORIGIN);
    const fromMesh = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"));
    expect(fromMesh.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("echoes a well-formed x-request-id and makes one up otherwise", async () => {
    const echoed = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"), { "x-request-id": "req-42" });
    expect(echoed.headers["x-request-id"]).toBe("req-42");
    const invented = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"), { "x-request-id": "bad id!" });
    expect(invented.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves Health/Check, and NOT_FOUND for a service it does not serve, as Connect does", async () => {
    const whole = grpcFrame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, {})));
    for (const url of [fast.url, connect.url]) {
      const reply = await rawGrpcCall(url, HEALTH, whole);
      expect(reply.status).toBe(0);
      expect(fromBinary(HealthCheckResponseSchema, grpcMessage(reply.body)).status).toBe(
        HealthCheckResponse_ServingStatus.SERVING,
      );
    }
    const unknown = grpcFrame(
      toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "no.such.Service" })),
    );
    const [viaFast, viaConnect] = await Promise.all([
      rawGrpcCall(fast.url, HEALTH, unknown),
      rawGrpcCall(connect.url, HEALTH, unknown),
    ]);
    expect(viaFast.status).toBe(5);
    expect(viaConnect.status).toBe(5);
    expect(viaFast.message).toBe(viaConnect.message);
  });

  it.each([
    ["a truncated prefix", Buffer.from([0, 0, 0])],
    [
      "a length that does not match the body",
      Buffer.concat([grpcFrame(Buffer.from([0x0a, 0x00])), Buffer.from([1])]),
    ],
    ["bytes that are not a CheckRequest", grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))],
  ])("answers INVALID_ARGUMENT, never INTERNAL, to %s, on both paths", async (_name, body) => {
    for (const server of [fast, connect]) {
      const reply = await rawGrpcCall(server.url, CHECK, body);
      expect(reply.status).toBe(3);
      expect(reply.message).not.toBe("");
    }
  });

  // Connect answers these protocol violations as connect-go does (UNIMPLEMENTED for
  // zero or extra messages, INTERNAL for a compressed flag without grpc-encoding); the fast path
  // treats them as the malformed requests they are.
  it.each([
    ["an empty body", Buffer.alloc(0)],
    ["two messages", Buffer.concat([grpcFrame(new Uint8Array()), grpcFrame(new Uint8Array())])],
    ["a compressed message without grpc-encoding", grpcFrame(Buffer.from([0x0a, 0x00]), true)],
  ])("answers INVALID_ARGUMENT on the fast path to %s", async (_name, body) => {
    const reply = await rawGrpcCall(fast.url, CHECK, body);
    expect(reply.status).toBe(3);
    expect(reply.message).not.toBe("");
  });

  it("outlives clients that reset their streams, before or after sending the whole request", async () => {
    const session = http2.connect(fast.url);
    try {
      const codes = [http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_CANCEL];
      await Promise.all(
        codes.flatMap((code) =>
          [true, false].map(
            (whole) =>
              new Promise<void>((resolve) => {
                const stream = session.request({
                  ":method": "POST",
                  ":path": CHECK,
                  "content-type": "application/grpc",
                  te: "trailers",
                });
                stream.on("error", () => {});
                stream.on("close", () => resolve());
                // An answer that arrives before the reset must be read for the stream to close.
                stream.resume();
                const frame = checkFrame("allow");
                if (whole) stream.end(frame);
                else stream.write(frame.subarray(0, 10));
                setTimeout(() => stream.close(code), 5);
              }),
          ),
        ),
      );
    } finally {
      session.close();
    }
    // The server is still up, and answers.
    const reply = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"));
    expect(reply.status).toBe(0);
    expect(fromBinary(CheckResponseSchema, grpcMessage(reply.body)).status?.code).toBe(0);
  });

  it("answers RESOURCE_EXHAUSTED to a message over the size limit (4 MiB)", async () => {
    const reply = await rawGrpcCall(fast.url, CHECK, grpcFrame(Buffer.alloc(4 * 1024 * 1024 + 1)));
    expect(reply.status).toBe(8);
  });

  it("answers INVALID_ARGUMENT to a malformed grpc-timeout, and honours a valid one", async () => {
    const bad = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"), { "grpc-timeout": "soon" });
    expect(bad.status).toBe(3);
    const within = await rawGrpcCall(fast.url, CHECK, checkFrame("allow"), { "grpc-timeout": "5S" });
    expect(within.status).toBe(0);
  });

  it("leaves compressed requests to Connect, which answers them alike", async () => {
    const message = toBinary(CheckRequestSchema, checks.allow!);
    const reply = await rawGrpcCall(fast.url, CHECK, gzipFrame(message), {
      "grpc-encoding": "gzip",
      "grpc-accept-encoding": "identity",
    });
    expect(reply.status).toBe(0);
    expect(fromBinary(CheckResponseSchema, grpcMessage(reply.body)).status?.code).toBe(0);
  });
});
