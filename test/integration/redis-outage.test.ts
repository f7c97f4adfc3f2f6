import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, type grpc, unary } from "../support/grpc-stubs.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";
import { PrivateRedis } from "../support/private-redis.ts";

/**
 * Redis stopped under two replicas: decisions go on from memory, a logout on
 * one replica still reaches the other (through the database, within
 * CHANGE_FEED_DEGRADED_POLL_MS), and /metrics and the health of the feed say so.
 */
describe("Redis outage (two replicas on PostgreSQL and a Redis of the test's own)", () => {
  let redis: PrivateRedis;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let authz: grpc.Client;
  let slug: string;
  let tokens: { accessToken: string; refreshToken: string };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = { ...IDENTITY_ENV, REDIS_URL: redis.url, CHANGE_FEED_DEGRADED_POLL_MS: "200" };
    first = await startTestGatehouse({ backend: "postgres", env });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first, env });
    const admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    slug = uniqueName("outage");
    const { service } = await ok(
      first.url,
      "gatehouse.v1.ServiceRegistryService/CreateService",
      { slug, displayName: "O" },
      admin,
    );
    const username = uniqueName("victim");
    const { user } = await ok(
      first.url,
      "gatehouse.v1.UserService/CreateUser",
      { username, email: `${username}@gatehouse.test`, password: "Victim-pass-123!", emailVerified: true },
      admin,
    );
    await ok(
      first.url,
      "gatehouse.v1.UserService/SetServiceGrants",
      { userId: user.id, grants: [{ serviceId: service.id, role: "viewer" }] },
      admin,
    );
    tokens = await loginTokens(first.url, username, "Victim-pass-123!");
    authz = authorizationClient(second.url);
  });

  afterAll(async () => {
    authz?.close();
    await second?.stop();
    await first?.stop();
    await redis?.stop();
  });

  const checkOnSecond = async (): Promise<number> => {
    const response: any = await unary(authz, "check", {
      attributes: {
        request: {
          http: {
            method: "GET",
            path: "/",
            host: "x",
            headers: { authorization: `Bearer ${tokens.accessToken}`, "x-request-id": randomUUID() },
          },
        },
        contextExtensions: { service: slug },
      },
    });
    return response.status.code;
  };

  const degradedGauge = async (server: TestGatehouse): Promise<string | undefined> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return /^gatehouse_change_feed_degraded (\d+)/m.exec(text)?.[1];
  };

  it("decides from memory, hears revocations through the database, and reports the degradation", async () => {
    expect(await checkOnSecond()).toBe(0);
    expect(await degradedGauge(second)).toBe("0");

    await redis.stop();
    for (let i = 0; i < 200 && (await degradedGauge(second)) !== "1"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await degradedGauge(second)).toBe("1");
    // Still allowed from memory: no Redis round trip on the decision path.
    expect(await checkOnSecond()).toBe(0);
    const ready = await (await fetch(`${second.url}/readyz`)).json();
    expect(ready).toMatchObject({ status: "ready", coordination: { kind: "redis", healthy: false } });

    await ok(first.url, "gatehouse.v1.AuthService/Logout", { refreshToken: tokens.refreshToken });
    const started = performance.now();
    let code = await checkOnSecond();
    while (code === 0 && performance.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      code = await checkOnSecond();
    }
    console.info(
      `with Redis down, logout reached the other replica after ${(performance.now() - started).toFixed(0)} ms`,
    );
    expect(code).toBe(16);

    await redis.resume();
    for (let i = 0; i < 300 && (await degradedGauge(second)) !== "0"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await degradedGauge(second)).toBe("0");
    const text = await (await fetch(`${second.url}/metrics`)).text();
    expect(Number(/^gatehouse_change_feed_degraded_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  });
});
