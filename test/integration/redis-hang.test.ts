import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timedCall } from "../support/deadline.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  AUTH,
  freshTotpCode,
  IDENTITY_ENV,
  loginTokens,
  ok,
  TEST_ADMIN,
  uniqueName,
} from "../support/identity.ts";
import { PrivateRedis } from "../support/private-redis.ts";

const PASSWORD = "Hang-pass-123!x";

/**
 * Redis that stops answering without closing its connections (SIGSTOP on a
 * redis-server of the test's own), under two replicas: no call waits for it.
 * Calls that need no Redis answer, MFA sign-in answers UNAVAILABLE, a logout on
 * one replica is denied on the other, and both replicas report the degradation.
 */
describe("Redis hang (SIGSTOP) under two replicas", () => {
  let redis: PrivateRedis;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let slug: string;
  let plain: { username: string };
  let mfa: { username: string; secret: string; used: Set<number> };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = { ...IDENTITY_ENV, REDIS_URL: redis.url, CHANGE_FEED_DEGRADED_POLL_MS: "200" };
    first = await startTestGatehouse({ backend: "postgres", env });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first, env });
    const admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    slug = uniqueName("hang");
    const { service } = await ok(
      first.url,
      "gatehouse.v1.ServiceRegistryService/CreateService",
      { slug, displayName: "H" },
      admin,
    );
    const createUser = async (prefix: string) => {
      const username = uniqueName(prefix);
      const { user } = await ok(
        first.url,
        "gatehouse.v1.UserService/CreateUser",
        { username, email: `${username}@gatehouse.test`, password: PASSWORD, emailVerified: true },
        admin,
      );
      await ok(
        first.url,
        "gatehouse.v1.UserService/SetServiceGrants",
        { userId: user.id, grants: [{ serviceId: service.id, role: "viewer" }] },
        admin,
      );
      return { username };
    };
    plain = await createUser("plain");
    const withMfa = await createUser("mfa");
    const token = (await loginTokens(first.url, withMfa.username, PASSWORD)).accessToken;
    const used = new Set<number>();
    const { secret } = await ok(first.url, `${AUTH}/EnrollTotp`, {}, token);
    await ok(first.url, `${AUTH}/ConfirmTotp`, { code: freshTotpCode(secret, used) }, token);
    mfa = { username: withMfa.username, secret, used };
  });

  afterAll(async () => {
    redis?.unpause();
    await second?.stop();
    await first?.stop();
    await redis?.stop();
  });

  const degradedGauge = async (server: TestGatehouse): Promise<string | undefined> => {
    const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
    return /^gatehouse_change_feed_degraded (\d+)/m.exec(text)?.[1];
  };
  const waitForGauge = async (server: TestGatehouse, value: string) => {
    for (let i = 0; i < 300 && (await degradedGauge(server)) !== value; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return degradedGauge(server);
  };
  const checkOnSecond = async (accessToken: string, quiet = false): Promise<number> => {
    const response = await timedCall(
      "Check on the other replica",
      `${second.url}/envoy.service.auth.v3.Authorization/Check`,
      {
        attributes: {
          request: {
            http: { headers: { authorization: `Bearer ${accessToken}`, "x-request-id": randomUUID() } },
          },
          contextExtensions: { service: slug },
        },
      },
      undefined,
      { quiet },
    );
    return (response.body.status as { code?: number } | undefined)?.code ?? 0;
  };

  it("answers every call, UNAVAILABLE for MFA, denies a logged-out token on the other replica, and reports it", async () => {
    const before = await loginTokens(first.url, plain.username, PASSWORD);
    expect(await checkOnSecond(before.accessToken)).toBe(0);
    expect(await degradedGauge(first)).toBe("0");

    redis.pause();
    const paused = performance.now();
    // The other replica is idle: only its heartbeat can notice.
    const secondDegraded = waitForGauge(second, "1").then((value) => {
      console.log(
        `[outage timing] Redis hung: the idle replica reported degraded after ${(performance.now() - paused).toFixed(0)} ms`,
      );
      return value;
    });
    try {
      // The first call after the hang waits out one command timeout; later ones fail over at once.
      const me = await timedCall("GetMe (Redis hung)", `${first.url}/${AUTH}/GetMe`, {}, before.accessToken);
      expect(me.status).toBe(200);
      const login = await timedCall("Login without MFA (Redis hung)", `${first.url}/${AUTH}/Login`, {
        login: plain.username,
        password: PASSWORD,
      });
      expect(login.status).toBe(200);
      const tokens = login.body.tokens as { accessToken: string; refreshToken: string };

      // MFA challenges and TOTP replay markers live in Redis: without it, UNAVAILABLE, never a 500.
      const challenge = await timedCall("Login with MFA (Redis hung)", `${first.url}/${AUTH}/Login`, {
        login: mfa.username,
        password: PASSWORD,
      });
      expect(challenge.status).toBe(503);
      expect(challenge.body.code).toBe("unavailable");
      expect(challenge.reason).toBe("coordination_unavailable");
      const upFront = await timedCall("Login with totp_code (Redis hung)", `${first.url}/${AUTH}/Login`, {
        login: mfa.username,
        password: PASSWORD,
        totpCode: freshTotpCode(mfa.secret, mfa.used),
      });
      expect(upFront.status).toBe(503);
      expect(upFront.reason).toBe("coordination_unavailable");

      expect(await waitForGauge(first, "1")).toBe("1");
      expect(await secondDegraded).toBe("1");
      const ready = await timedCall("/readyz (Redis hung)", `${second.url}/readyz`);
      // Readiness is the database's: replicas keep deciding from memory without Redis.
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ coordination: { kind: "redis", healthy: false } });

      expect(await checkOnSecond(tokens.accessToken)).toBe(0);
      const logout = await timedCall("Logout (Redis hung)", `${first.url}/${AUTH}/Logout`, {
        refreshToken: tokens.refreshToken,
      });
      expect(logout.status).toBe(200);
      // Whatever Logout answered, the token must not stay valid on the other replica.
      const started = performance.now();
      let code = await checkOnSecond(tokens.accessToken);
      while (code === 0 && performance.now() - started < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        code = await checkOnSecond(tokens.accessToken, true);
      }
      console.log(
        `[outage timing] Redis hung: logout reached the other replica after ${(performance.now() - started).toFixed(0)} ms`,
      );
      expect(code).toBe(16);
    } finally {
      redis.unpause();
    }

    expect(await waitForGauge(first, "0")).toBe("0");
    expect(await waitForGauge(second, "0")).toBe("0");
    const again = await timedCall("Login with MFA (Redis back)", `${first.url}/${AUTH}/Login`, {
      login: mfa.username,
      password: PASSWORD,
    });
    expect(again.status).toBe(200);
    expect(again.body.mfaChallenge).toBeDefined();
  }, 180_000);

  it("answers UNAVAILABLE, not INTERNAL, to MFA sign-in while Redis is down (killed)", async () => {
    await redis.stop();
    try {
      for (const server of [first, second]) expect(await waitForGauge(server, "1")).toBe("1");
      const challenge = await timedCall("Login with MFA (Redis down)", `${first.url}/${AUTH}/Login`, {
        login: mfa.username,
        password: PASSWORD,
      });
      expect(challenge.status).toBe(503);
      expect(challenge.reason).toBe("coordination_unavailable");
      const upFront = await timedCall("Login with totp_code (Redis down)", `${first.url}/${AUTH}/Login`, {
        login: mfa.username,
        password: PASSWORD,
        totpCode: freshTotpCode(mfa.secret, mfa.used),
      });
      expect(upFront.status).toBe(503);
      expect(upFront.reason).toBe("coordination_unavailable");
    } finally {
      await redis.resume();
    }
    expect(await waitForGauge(first, "0")).toBe("0");
  }, 120_000);

  it("starts a replica while Redis hangs, and that replica hears changes by pub/sub once Redis answers", async () => {
    let third: TestGatehouse | undefined;
    redis.pause();
    try {
      third = await startTestGatehouse({
        backend: "postgres",
        shareWith: first,
        // Polling too rare to matter: a change heard within the test came by pub/sub.
        env: { CHANGE_FEED_POLL_MS: "600000" },
      });
      const ready = await timedCall("/readyz of a replica started during the hang", `${third.url}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      redis.unpause();
    }
    try {
      for (const server of [first, third]) expect(await waitForGauge(server, "0")).toBe("0");
      const tokens = await loginTokens(first.url, plain.username, PASSWORD);
      const check = async () => {
        const response = await timedCall(
          "Check on the replica started during the hang",
          `${third!.url}/envoy.service.auth.v3.Authorization/Check`,
          {
            attributes: {
              request: { http: { headers: { authorization: `Bearer ${tokens.accessToken}` } } },
              contextExtensions: { service: slug },
            },
          },
          undefined,
          { quiet: true },
        );
        return (response.body.status as { code?: number } | undefined)?.code ?? 0;
      };
      expect(await check()).toBe(0);
      await ok(first.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
      const started = performance.now();
      let code = await check();
      while (code === 0 && performance.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        code = await check();
      }
      expect(code).toBe(16);
    } finally {
      await third?.stop();
    }
  }, 120_000);

  it("keeps sign-in guessing bounded while Redis is unreachable (the in-process insurance limiter)", async () => {
    const strict = await startTestGatehouse({
      backend: "postgres",
      shareWith: first,
      env: { RATE_LIMIT_SENSITIVE_PER_MINUTE: "3" },
    });
    try {
      await redis.stop();
      expect(await waitForGauge(strict, "1")).toBe("1");
      const guess = () =>
        timedCall("Login guess (Redis down)", `${strict.url}/${AUTH}/Login`, {
          login: uniqueName("nobody"),
          password: "wrong-guess-123",
        });
      const login = uniqueName("target");
      const guessAt = () =>
        timedCall("Login guess on one account (Redis down)", `${strict.url}/${AUTH}/Login`, {
          login,
          password: "wrong-guess-123",
        });
      for (let attempt = 0; attempt < 3; attempt++)
        expect((await guessAt()).body.code).toBe("unauthenticated");
      const refused = await guessAt();
      expect(refused.body.code).toBe("resource_exhausted");
      expect(refused.reason).toBe("rate_limited");
      // Per IP too: other accounts from the same address are over the sensitive limit as well.
      expect((await guess()).body.code).toBe("resource_exhausted");
    } finally {
      await redis.resume();
      await strict.stop();
    }
  }, 120_000);
});
