import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CheckRequestSchema,
  CheckResponseSchema,
} from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { postJson } from "../support/connect-json.ts";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpcFrame, grpcMessage, rawGrpcCall } from "../support/h2-grpc.ts";
import { IDENTITY_ENV, loginTokens, TEST_ADMIN, uniqueName } from "../support/identity.ts";
import { createTestDatabase } from "../support/services.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";

/**
 * PostgreSQL unreachable (the connection cut between Gatehouse and the real
 * server): calls that need the database answer UNAVAILABLE, never INTERNAL;
 * readiness says so; decisions already warm go on from memory; and everything
 * recovers when the database is back.
 */
describe("PostgreSQL outage", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let server: TestGatehouse;
  let admin: string;
  let user: string;
  let coldUser: string;
  let slug: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const direct = new URL(database.url);
    proxy = new TcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, DATABASE_URL: viaProxy.toString() },
    });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const service = await createService(server.url, admin);
    slug = service.slug;
    const created = await createUser(server.url, admin);
    await setGrants(server.url, admin, created.id, [{ serviceId: service.id, role: "viewer" }]);
    user = (await loginTokens(server.url, created.username, created.password)).accessToken;
    // Signed in, but never checked: its access is not in memory when the database goes away.
    const cold = await createUser(server.url, admin);
    await setGrants(server.url, admin, cold.id, [{ serviceId: service.id, role: "viewer" }]);
    coldUser = (await loginTokens(server.url, cold.username, cold.password)).accessToken;
  });

  afterAll(async () => {
    await proxy?.start();
    await server?.stop();
    await proxy?.stop();
    await database?.drop();
  });

  const grpcCheck = (token: string) =>
    rawGrpcCall(
      server.url,
      "/envoy.service.auth.v3.Authorization/Check",
      grpcFrame(
        toBinary(
          CheckRequestSchema,
          create(CheckRequestSchema, {
            attributes: {
              request: { http: { headers: { authorization: `Bearer ${token}` } } },
              contextExtensions: { service: slug },
            },
          }),
        ),
      ),
    );

  const check = async () => {
    const response = await postJson(server.url, "envoy.service.auth.v3.Authorization/Check", {
      attributes: {
        request: { http: { headers: { authorization: `Bearer ${user}`, "x-request-id": randomUUID() } } },
        contextExtensions: { service: slug },
      },
    });
    return response;
  };
  const createAService = () =>
    postJson(
      server.url,
      "gatehouse.v1.ServiceRegistryService/CreateService",
      { slug: uniqueName("during"), displayName: "During" },
      { authorization: `Bearer ${admin}` },
    );

  it("answers UNAVAILABLE, keeps warm decisions, reports not ready, and recovers", async () => {
    expect((await check()).body).toMatchObject({ status: {} });

    await proxy.stop();
    const write = await createAService();
    expect(write.status).toBe(503);
    expect(write.body).toMatchObject({ code: "unavailable" });
    expect(JSON.stringify(write.body)).toContain("database_unavailable");

    // The token, the revocation state, the service and the user's grants are all in memory.
    const warm = await check();
    expect(warm.status).toBe(200);
    expect((warm.body.status as { code?: number }).code ?? 0).toBe(0);

    // Over plain gRPC (the fast path, as Envoy calls): warm decisions go on; a subject not in
    // memory cannot be decided, and that is an RPC error (UNAVAILABLE), never a verdict.
    const warmViaGrpc = await grpcCheck(user);
    expect(warmViaGrpc.status).toBe(0);
    expect(fromBinary(CheckResponseSchema, grpcMessage(warmViaGrpc.body)).status?.code ?? 0).toBe(0);
    const coldViaGrpc = await grpcCheck(coldUser);
    expect(coldViaGrpc.status).toBe(14);
    const details = Buffer.from(String(coldViaGrpc.trailers["grpc-status-details-bin"]), "base64");
    expect(details.toString("latin1")).toContain("database_unavailable");
    const coldViaJson = await postJson(server.url, "envoy.service.auth.v3.Authorization/Check", {
      attributes: {
        request: { http: { headers: { authorization: `Bearer ${coldUser}` } } },
        contextExtensions: { service: slug },
      },
    });
    expect(coldViaJson.status).toBe(503);
    expect(JSON.stringify(coldViaJson.body)).toContain("database_unavailable");

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ database: "unreachable" });

    await proxy.start();
    let recovered = await createAService();
    for (let attempt = 0; attempt < 50 && recovered.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      recovered = await createAService();
    }
    expect(recovered.status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
