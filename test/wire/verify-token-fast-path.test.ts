import http from "node:http";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerifyTokenRequestSchema, VerifyTokenResponseSchema } from "../../src/gen/gatehouse/v1/auth_pb.js";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpcFrame, grpcMessage, rawGrpcCall } from "../support/h2-grpc.ts";
import { IDENTITY_ENV, loginTokens, TEST_ADMIN } from "../support/identity.ts";

const VERIFY = "/gatehouse.v1.AuthService/VerifyToken";
const LIMIT = 4 * 1024 * 1024;

interface JsonReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The body as sent (decompressed when content-encoding says gzip). */
  readonly text: string;
}

/** One HTTP/1.1 POST with exactly these headers and bytes, as a plain HTTP client sends it. */
function postRaw(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const request = http.request(`${url}${VERIFY}`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(bytes.length), ...headers },
    });
    request.on("error", reject);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const raw = Buffer.concat(chunks);
        const text = (response.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text });
      });
    });
    request.end(bytes);
  });
}

/** The headers a client can tell apart (not the date, nor the request id each server makes up). */
const comparable = (headers: http.IncomingHttpHeaders) => {
  const { date: _date, "x-request-id": _id, ...rest } = headers;
  return rest;
};

/**
 * VerifyToken on the fast paths (gRPC: src/server/grpc-fast-path.ts; Connect
 * JSON: src/server/connect-json-fast-path.ts) against Connect serving the
 * same method: one replica with the fast paths, one without
 * (GRPC_FAST_PATH=false) on the same data, asked the same questions in the
 * same bytes, must answer alike: valid, denied, invalid, malformed and
 * oversize requests, the error details included.
 */
describe("VerifyToken fast paths (PostgreSQL + Redis)", () => {
  let fast: TestGatehouse;
  let connect: TestGatehouse;
  const json: Record<string, string> = {};

  beforeAll(async () => {
    fast = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
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
    const cases: Record<string, unknown> = {
      granted: { token, serviceId: granted.id, requiredRole: "viewer" },
      bySlug: { token, serviceSlug: granted.slug },
      tokenOnly: { token },
      noGrant: { token, serviceId: other.id, requiredRole: "viewer" },
      tooWeak: { token, serviceId: granted.id, requiredRole: "owner" },
      forged: { token: forged, serviceId: granted.id },
      garbageToken: { token: "not-a-jwt", serviceId: granted.id },
      badServiceId: { token, serviceId: "not-a-uuid" },
      bothServiceKeys: { token, serviceId: granted.id, serviceSlug: granted.slug },
      controlCharacter: { token: `${token}\u0001` },
      tokenTooLong: { token: "a".repeat(8193) },
    };
    for (const [name, body] of Object.entries(cases)) json[name] = JSON.stringify(body);
    json.unknownField = JSON.stringify({ token, serviceIdd: granted.id });
    json.wrongType = JSON.stringify({ token: 42 });
    json.notJson = "{ token: ";
    json.notAnObject = "[]";
  });

  afterAll(async () => {
    await connect?.stop();
    await fast?.stop();
  });

  const grpcBody = (name: string) =>
    grpcFrame(toBinary(VerifyTokenRequestSchema, create(VerifyTokenRequestSchema, JSON.parse(json[name]!))));

  it.each([
    ["granted", 0],
    ["bySlug", 0],
    ["tokenOnly", 0],
    ["noGrant", 0],
    ["tooWeak", 0],
    ["forged", 16],
    ["garbageToken", 16],
    ["badServiceId", 3],
    ["bothServiceKeys", 3],
    ["controlCharacter", 3],
    ["tokenTooLong", 3],
  ] as const)(
    "over gRPC, %s answers as Connect does (status, message, details, body)",
    async (name, status) => {
      const [viaFast, viaConnect] = await Promise.all([
        rawGrpcCall(fast.url, VERIFY, grpcBody(name)),
        rawGrpcCall(connect.url, VERIFY, grpcBody(name)),
      ]);
      expect(viaFast.status).toBe(status);
      expect(viaConnect.status).toBe(status);
      expect(viaFast.message).toBe(viaConnect.message);
      expect(viaFast.trailers["grpc-status-details-bin"]).toEqual(
        viaConnect.trailers["grpc-status-details-bin"],
      );
      if (status === 0) {
        const response = fromBinary(VerifyTokenResponseSchema, grpcMessage(viaFast.body));
        expect(response.user?.id).not.toBe("");
        expect(response).toEqual(fromBinary(VerifyTokenResponseSchema, grpcMessage(viaConnect.body)));
      } else {
        expect(viaFast.body.length).toBe(0);
      }
    },
  );

  it.each([
    [
      "bytes that are not a VerifyTokenRequest",
      grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])),
      3,
    ],
    ["invalid UTF-8 in the token", grpcFrame(Buffer.from([0x0a, 0x02, 0xc3, 0x28])), 3],
  ] as const)("over gRPC, %s answers as Connect does", async (_name, body, status) => {
    const [viaFast, viaConnect] = await Promise.all([
      rawGrpcCall(fast.url, VERIFY, body),
      rawGrpcCall(connect.url, VERIFY, body),
    ]);
    expect(viaFast.status).toBe(status);
    expect(viaConnect.status).toBe(status);
  });

  it("over gRPC, answers RESOURCE_EXHAUSTED to a message over the size limit (4 MiB)", async () => {
    const reply = await rawGrpcCall(fast.url, VERIFY, grpcFrame(Buffer.alloc(LIMIT + 1)));
    expect(reply.status).toBe(8);
  });

  it.each([
    "granted",
    "bySlug",
    "tokenOnly",
    "noGrant",
    "tooWeak",
    "forged",
    "garbageToken",
    "badServiceId",
    "bothServiceKeys",
    "controlCharacter",
    "tokenTooLong",
    "unknownField",
    "wrongType",
    "notJson",
    "notAnObject",
  ])("over Connect JSON, %s answers as Connect does (status, headers, body)", async (name) => {
    for (const headers of [{}, { "accept-encoding": "gzip, deflate, br" }] as Record<string, string>[]) {
      const [viaFast, viaConnect] = await Promise.all([
        postRaw(fast.url, json[name]!, headers),
        postRaw(connect.url, json[name]!, headers),
      ]);
      expect(viaFast.status).toBe(viaConnect.status);
      expect(comparable(viaFast.headers)).toEqual(comparable(viaConnect.headers));
      expect(JSON.parse(viaFast.text)).toEqual(JSON.parse(viaConnect.text));
    }
  });

  it("over Connect JSON, answers RESOURCE_EXHAUSTED to a body over the size limit, as Connect does", async () => {
    const body = JSON.stringify({ token: "a".repeat(LIMIT) });
    const [viaFast, viaConnect] = await Promise.all([postRaw(fast.url, body), postRaw(connect.url, body)]);
    expect(viaFast.status).toBe(429);
    expect(viaConnect.status).toBe(429);
    expect(JSON.parse(viaFast.text)).toEqual(JSON.parse(viaConnect.text));
  });

  it("echoes a well-formed x-request-id and makes one up otherwise, on both fast paths", async () => {
    const echoed = await postRaw(fast.url, json.granted!, { "x-request-id": "req-7" });
    expect(echoed.headers["x-request-id"]).toBe("req-7");
    const failed = await postRaw(fast.url, json.forged!, { "x-request-id": "req-8" });
    expect(failed.headers["x-request-id"]).toBe("req-8");
    const invented = await postRaw(fast.url, json.granted!, { "x-request-id": "bad id!" });
    expect(invented.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const grpc = await rawGrpcCall(fast.url, VERIFY, grpcBody("granted"), { "x-request-id": "req-9" });
    expect(grpc.headers["x-request-id"]).toBe("req-9");
  });

  it("answers INVALID_ARGUMENT to a malformed deadline on both fast paths, as Connect does", async () => {
    for (const server of [fast, connect]) {
      const grpc = await rawGrpcCall(server.url, VERIFY, grpcBody("granted"), { "grpc-timeout": "soon" });
      expect(grpc.status).toBe(3);
      const viaJson = await postRaw(server.url, json.granted!, { "connect-timeout-ms": "soon" });
      expect(viaJson.status).toBe(400);
    }
  });

  it("takes gRPC calls off Connect (the content type each writes tells them apart)", async () => {
    // Both are valid gRPC answers; this only shows which path served (the JSON fast path's own
    // test, src/server/connect-json-fast-path.test.ts, shows the same for Connect JSON).
    const viaFast = await rawGrpcCall(fast.url, VERIFY, grpcBody("granted"));
    const viaConnect = await rawGrpcCall(connect.url, VERIFY, grpcBody("granted"));
    expect(viaFast.headers["content-type"]).toBe("application/grpc");
    expect(viaConnect.headers["content-type"]).toBe("application/grpc+proto");
  });
});
