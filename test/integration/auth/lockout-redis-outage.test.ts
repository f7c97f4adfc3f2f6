import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, signUpAndLogin } from "../../support/identity.ts";
import { PrivateRedis } from "../../support/private-redis.ts";

const ACCOUNT_THRESHOLD = 3;

/**
 * The throttle's per-source part lives in Redis; while Redis is down guessing
 * must stay bounded by the account budget in the database.
 */
describe("sign-in lockout while Redis is down (PostgreSQL and a Redis of the test's own)", () => {
  let redis: PrivateRedis;
  let server: TestGatehouse;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    server = await startTestGatehouse({
      backend: "postgres",
      env: {
        ...IDENTITY_ENV,
        REDIS_URL: redis.url,
        TRUSTED_PROXY_HOPS: "1",
        LOCKOUT_THRESHOLD: String(ACCOUNT_THRESHOLD),
        LOCKOUT_SOURCE_THRESHOLD: "100",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  const login = async (body: Record<string, string>, from: string) => {
    const response = await postJson(server.url, `${AUTH}/Login`, body, { "x-forwarded-for": from });
    const details = (response.body.details ?? []) as Array<{ type: string; debug: any }>;
    return details.find((detail) => detail.type === "google.rpc.ErrorInfo")?.debug?.reason ?? "ok";
  };

  it("locks the account against unknown sources after LOCKOUT_THRESHOLD failures from many addresses", async () => {
    const user = await signUpAndLogin(server.url);
    await redis.stop();
    const answers: string[] = [];
    for (let attempt = 0; attempt < ACCOUNT_THRESHOLD; attempt++) {
      answers.push(
        await login({ login: user.username, password: "Wrong-pass-123" }, `203.0.113.${attempt + 1}`),
      );
    }
    answers.push(await login({ login: user.username, password: user.password }, "203.0.113.99"));
    expect(answers).toEqual([...Array(ACCOUNT_THRESHOLD).fill("invalid_credentials"), "sign_in_throttled"]);
  });
});
