import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatehouseProcess, startGatehouseProcess } from "../../../harness/gatehouse-process.ts";
import { AUTH, fails, IDENTITY_ENV, ok, signUpAndLogin, type TokenSet } from "../../support/identity.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../../support/services.ts";

const GRACE_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two Gatehouse processes sharing PostgreSQL and Redis. Refresh-token rotation
 * is decided under row locks in the shared database, so the replicas agree;
 * revocations reach the other replica through the change feed (not
 * synchronously), so the other replica is polled, never timed.
 */
describe("refresh and logout across two replicas (separate processes, shared PostgreSQL and Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: GatehouseProcess;
  let second: GatehouseProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ...postgresRedisTestEnvironment(database, { issuer: "http://gatehouse.test" }),
      ...IDENTITY_ENV,
      REFRESH_GRACE_SECONDS: String(GRACE_SECONDS),
    };
    first = await startGatehouseProcess({ env });
    second = await startGatehouseProcess({ env });
  });
  afterAll(async () => {
    expect(await first?.stop()).toBe(0);
    expect(await second?.stop()).toBe(0);
    await database?.drop();
  });

  /** Waits until the replica rejects the token (the change feed delivers in milliseconds; 15 s is the bound). */
  async function rejectedEventually(url: string, accessToken: string): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const response = await fetch(`${url}/${AUTH}/GetMe`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${accessToken}` },
        body: "{}",
      });
      const body: any = await response.json();
      if (response.status !== 200) return body.code;
      if (Date.now() > deadline) throw new Error("the other replica still accepts the token");
      await sleep(50);
    }
  }

  it("gives concurrent refreshes on both replicas one pair, and ends the session on reuse everywhere", async () => {
    const user = await signUpAndLogin(first.url);
    const answers = await Promise.all(
      [first, second, first, second].map((replica) =>
        ok(replica.url, `${AUTH}/Refresh`, { refreshToken: user.tokens.refreshToken }),
      ),
    );
    expect(new Set(answers.map((answer) => answer.tokens.refreshToken)).size).toBe(1);
    expect(new Set(answers.map((answer) => answer.tokens.accessToken)).size).toBe(1);
    const current: TokenSet = answers[0].tokens;
    await ok(second.url, `${AUTH}/GetMe`, {}, current.accessToken);

    await sleep(GRACE_SECONDS * 1000 + 500);
    expect(
      (await fails(second.url, `${AUTH}/Refresh`, { refreshToken: user.tokens.refreshToken })).reason,
    ).toBe("refresh_token_reused");
    expect((await fails(first.url, `${AUTH}/Refresh`, { refreshToken: current.refreshToken })).reason).toBe(
      "session_ended",
    );
    expect(await rejectedEventually(first.url, current.accessToken)).toBe("unauthenticated");
  });

  it("a logout on one replica rejects the session's access token on the other", async () => {
    const user = await signUpAndLogin(first.url);
    await ok(second.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken);
    await ok(second.url, `${AUTH}/Logout`, { refreshToken: user.tokens.refreshToken });
    expect((await fails(second.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken)).code).toBe(
      "unauthenticated",
    );
    expect(await rejectedEventually(first.url, user.tokens.accessToken)).toBe("unauthenticated");
  });
});
