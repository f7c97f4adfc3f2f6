import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import express from "express";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatehouseProcess, startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import {
  createGatehouseAuth,
  createGatehouseClient,
  type GatehouseAuth,
  type GatehouseIdentity,
  gatehouseExpress,
  gatehouseFastify,
  gatehouseInterceptor,
  kGatehouseIdentity,
  type RequestWithGatehouse,
} from "../../packages/client/src/index.ts";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../src/gen/health/v1/health_pb.js";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { AUTH, IDENTITY_ENV, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../support/services.ts";

const ISSUER = "http://gatehouse.test";

/**
 * The client package's middleware in real Express, Fastify and Connect apps,
 * fed by replica B's WatchChanges while changes are made on replica A (two
 * Gatehouse processes on one PostgreSQL and Redis). Times are printed, never asserted.
 */
describe("auth middleware (Express, Fastify, Connect) against two replicas", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let admin: string;
  let service: { id: string; slug: string };
  let auth: GatehouseAuth;
  const closers: Array<() => Promise<unknown>> = [];
  let expressUrl: string;
  let fastifyUrl: string;
  let connectUrl: string;
  let lastConnectIdentity: GatehouseIdentity | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ...IDENTITY_ENV,
      ...postgresRedisTestEnvironment(database, { issuer: ISSUER, keyEncryptionKey: "5a".repeat(32) }),
      WATCH_CHANGES_HEARTBEAT_SECONDS: "1",
    };
    [a, b] = await Promise.all([
      startGatehouseProcess({ env, name: "replica-a" }),
      startGatehouseProcess({ env, name: "replica-b" }),
    ]);
    admin = (await loginTokens(a.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    service = await createService(a.url, admin);
    // The protected service's own identity: a service account with a grant, which may watch changes.
    const account = await ok(
      a.url,
      "gatehouse.v1.ServiceRegistryService/CreateServiceAccount",
      { name: `app-${Date.now()}`, grants: [{ serviceId: service.id, role: "viewer" }] },
      admin,
    );

    // Replica B first: the stream (and VerifyToken) go there until it fails, then to A.
    const client = createGatehouseClient({
      baseUrl: [b.url, a.url],
      transport: "grpc",
      credentials: {
        type: "client_credentials",
        clientId: account.serviceAccount.clientId,
        clientSecret: account.clientSecret,
      },
      retry: { maxAttempts: 3, initialBackoffMs: 50 },
    });
    auth = createGatehouseAuth({
      client,
      issuer: ISSUER,
      jwksUrl: `${b.url}/.well-known/jwks.json`,
      service: service.slug,
      requiredRole: "viewer",
      // Long enough that a revocation can be made while the stream is away (see the replica test).
      reconnectBackoffMs: 1500,
      maxStalenessMs: 2000,
    });
    expect(await auth.start(15_000)).toBe(true);

    const app = express();
    app.get("/whoami", gatehouseExpress(auth), (request, response) => {
      const identity = (request as RequestWithGatehouse).gatehouse!;
      response.json({ subject: identity.principal.subjectId, role: identity.role, source: identity.source });
    });
    const expressServer = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => expressServer.once("listening", resolve));
    expressUrl = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`;
    closers.push(() => new Promise((resolve) => expressServer.close(resolve)));

    const fastify = Fastify();
    fastify.decorateRequest("gatehouse", null);
    fastify.addHook("onRequest", gatehouseFastify(auth));
    fastify.get("/whoami", async (request) => {
      const identity = (request as unknown as { gatehouse: GatehouseIdentity }).gatehouse;
      return { subject: identity.principal.subjectId, role: identity.role, source: identity.source };
    });
    fastifyUrl = await fastify.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => fastify.close());

    const { createServer } = await import("node:http");
    const connectServer = createServer(
      connectNodeAdapter({
        routes: (router) =>
          router.service(Health, {
            check(_request, context) {
              lastConnectIdentity = context.values.get(kGatehouseIdentity);
              return create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });
            },
          }),
        interceptors: [gatehouseInterceptor(auth)],
      }),
    ).listen(0, "127.0.0.1");
    await new Promise((resolve) => connectServer.once("listening", resolve));
    connectUrl = `http://127.0.0.1:${(connectServer.address() as AddressInfo).port}`;
    closers.push(() => new Promise((resolve) => connectServer.close(resolve)));
  }, 120_000);

  afterAll(async () => {
    for (const close of closers) await close();
    await auth?.close();
    await a?.stop();
    await b?.stop();
    await database?.drop();
  });

  async function grantedUser(role = "viewer") {
    const user = await createUser(a.url, admin);
    await setGrants(a.url, admin, user.id, [{ serviceId: service.id, role }]);
    return { user, tokens: await loginTokens(a.url, user.username, user.password) };
  }

  const get = async (url: string, token: string) => {
    const response = await fetch(`${url}/whoami`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };

  /** Polls until the app's answer is no longer 200; the time from `since`. */
  async function untilRefused(url: string, token: string, since: number) {
    for (;;) {
      const answer = await get(url, token);
      if (answer.status !== 200) return { ...answer, ms: performance.now() - since };
      if (performance.now() - since > 10_000) throw new Error("the change never reached the app");
    }
  }

  for (const stack of ["Express", "Fastify"] as const) {
    it(`${stack}: a logout on replica A is honoured by the app, fed by replica B's stream, without asking VerifyToken`, async () => {
      const url = stack === "Express" ? expressUrl : fastifyUrl;
      const { user, tokens } = await grantedUser();
      // The first request asks VerifyToken for the subject's access; the next ones are local.
      expect((await get(url, tokens.accessToken)).body).toMatchObject({ subject: user.id, role: "viewer" });
      expect(await get(url, tokens.accessToken)).toMatchObject({ status: 200, body: { source: "local" } });
      const asked = auth.stats.verifyToken;

      const started = performance.now();
      await ok(a.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
      const returned = performance.now();
      const refused = await untilRefused(url, tokens.accessToken, started);
      console.log(
        `middleware (${stack}): logout on replica A refused by the app ${refused.ms.toFixed(1)} ms after the call started (${(refused.ms - (returned - started)).toFixed(1)} ms after it returned; target 100 ms)`,
      );
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: "invalid_token", reason: "session_revoked" });
      // Decided from the stream's revocation, not by a round trip.
      expect(auth.stats.verifyToken).toBe(asked);
    });
  }

  it("Express and Fastify: a grant removal on replica A changes the app's answer to 403 no_grant", async () => {
    const { user, tokens } = await grantedUser();
    for (const url of [expressUrl, fastifyUrl]) {
      await get(url, tokens.accessToken);
      expect(await get(url, tokens.accessToken)).toMatchObject({ status: 200, body: { source: "local" } });
    }
    const started = performance.now();
    await setGrants(a.url, admin, user.id, []);
    for (const [name, url] of [
      ["Express", expressUrl],
      ["Fastify", fastifyUrl],
    ] as const) {
      const refused = await untilRefused(url, tokens.accessToken, started);
      console.log(
        `middleware (${name}): grant removal on replica A refused after ${refused.ms.toFixed(1)} ms`,
      );
      expect(refused).toMatchObject({ status: 403, body: { error: "forbidden", reason: "no_grant" } });
    }
    // An insufficient role is refused alike: the route asks for viewer, a grant below it does not exist here.
    expect((await get(expressUrl, "not-a-token")).body).toMatchObject({ reason: "malformed_token" });
    const missing = await fetch(`${expressUrl}/whoami`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="gatehouse"');
  });

  it("Connect: the interceptor gives handlers the principal and refuses with Check's reasons", async () => {
    const health = createClient(Health, createConnectTransport({ baseUrl: connectUrl, httpVersion: "1.1" }));
    const { user, tokens } = await grantedUser("editor");
    await health.check({}, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
    expect(lastConnectIdentity?.principal.subjectId).toBe(user.id);
    expect(lastConnectIdentity?.role).toBe("editor");
    await ok(a.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
    const error = await waitForError(() =>
      health.check({}, { headers: { authorization: `Bearer ${tokens.accessToken}` } }),
    );
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.findDetails(ErrorInfoSchema)[0]?.reason).toBe("session_revoked");
  });

  it("refuses locally a token for another issuer or audience, with Gatehouse's reasons", async () => {
    const { tokens } = await grantedUser();
    const client = createGatehouseClient({ baseUrl: a.url });
    for (const [options, reason] of [
      [{ issuer: "http://elsewhere.test" }, "wrong_issuer"],
      [{ issuer: ISSUER, audience: "another-api" }, "wrong_audience"],
    ] as const) {
      const strict = createGatehouseAuth({ client, jwksUrl: `${a.url}/.well-known/jwks.json`, ...options });
      const asked = strict.stats.verifyToken;
      expect(await strict.authorize(`Bearer ${tokens.accessToken}`)).toMatchObject({ status: 401, reason });
      expect(strict.stats.verifyToken).toBe(asked);
      await strict.close();
    }
  });

  it("createGatehouseClient over Connect: typed clients for the services, failing over from a dead replica", async () => {
    const dead = "http://127.0.0.1:1";
    const client = createGatehouseClient({
      baseUrl: [dead, a.url],
      transport: "connect",
      credentials: { type: "bearer", token: admin },
      retry: { initialBackoffMs: 10 },
    });
    const { permissions } = await client.roles.listPermissions({});
    expect(permissions.map((permission) => permission.name)).toContain("changes.watch");
    const { services } = await client.services.listServices({});
    expect(services.some((entry) => entry.id === service.id)).toBe(true);
    expect((await client.auth.getMe({})).user?.username).toBe(TEST_ADMIN.username);
    // A refusal is not retried: it comes back as it was answered.
    const anonymous = createGatehouseClient({ baseUrl: a.url, transport: "connect" });
    await expect(anonymous.users.listUsers({})).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  it("killing the stream's replica: VerifyToken answers meanwhile, then the stream resumes from its cursor without losing a revocation", async () => {
    const kept = await grantedUser();
    const revoked = await grantedUser();
    for (const { tokens } of [kept, revoked]) {
      await get(expressUrl, tokens.accessToken);
      expect((await get(expressUrl, tokens.accessToken)).body.source).toBe("local");
    }
    const resetsBefore = auth.resets;
    const cursorBefore = auth.cursor;

    expect(await b.stop()).toBe(0);
    // The stream is down (reconnection waits reconnectBackoffMs): decisions go to VerifyToken on replica A.
    await waitUntil(() => !auth.synced);
    const asked = auth.stats.verifyToken;
    expect(await get(expressUrl, kept.tokens.accessToken)).toMatchObject({
      status: 200,
      body: { source: "verify_token" },
    });
    await ok(a.url, `${AUTH}/Logout`, { refreshToken: revoked.tokens.refreshToken });
    expect(await get(expressUrl, revoked.tokens.accessToken)).toMatchObject({
      status: 401,
      body: { reason: "session_revoked" },
    });
    expect(auth.stats.verifyToken).toBeGreaterThan(asked);
    expect(auth.synced).toBe(false);

    // Back on replica A, resumed from the cursor (no RESET): the revocation made meanwhile was replayed.
    await waitUntil(() => auth.synced, 20_000);
    expect(auth.resets).toBe(resetsBefore);
    expect(auth.cursor).not.toBe(cursorBefore);
    const afterResume = auth.stats.verifyToken;
    expect(await get(expressUrl, revoked.tokens.accessToken)).toMatchObject({
      status: 401,
      body: { reason: "session_revoked" },
    });
    expect(auth.stats.verifyToken).toBe(afterResume);
  });

  it("fails closed (503) once Gatehouse is unreachable and local state is older than maxStalenessMs", async () => {
    const { tokens } = await grantedUser();
    await get(expressUrl, tokens.accessToken);
    expect((await get(expressUrl, tokens.accessToken)).body.source).toBe("local");
    expect(await a.stop()).toBe(0);
    await waitUntil(() => !auth.synced);
    // Fresh enough: the remembered answer still serves while neither replica can be asked.
    const stale = await get(expressUrl, tokens.accessToken);
    console.log(`middleware: with every replica down, answered ${stale.status} while state was fresh`);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await get(expressUrl, tokens.accessToken)).toMatchObject({
      status: 503,
      body: { reason: "gatehouse_unavailable" },
    });
    expect(auth.stats.failedClosed).toBeGreaterThan(0);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function waitForError(call: () => Promise<unknown>, timeoutMs = 10_000): Promise<ConnectError> {
  const started = Date.now();
  for (;;) {
    try {
      await call();
    } catch (error) {
      return ConnectError.from(error);
    }
    if (Date.now() - started > timeoutMs) throw new Error("the call kept succeeding");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
