import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  ok,
  TEST_ADMIN,
  type TokenSet,
  USERS,
  uniqueName,
} from "../../support/identity.ts";
import { createTestRealm, ensureKeycloak, type TestRealm } from "../../support/keycloak.ts";

const PASSWORD = "Correct-horse-battery-9";

/**
 * Refresh-token reuse under Keycloak, across two replicas: every refresh
 * token Gatehouse spent is remembered (by jti, in Redis), so one spent two
 * rotations ago, which Keycloak itself accepts again, is refused as reuse and
 * ends the session in Keycloak and on every replica.
 */
describe("Keycloak refresh-token reuse", () => {
  let realm: TestRealm;
  let first: TestGatehouse;
  let second: TestGatehouse;

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    const env = { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_EVENTS_POLL_MS: "0" };
    first = await startTestGatehouse({ backend: "postgres", env });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await realm?.delete();
  });

  it("refuses a refresh token spent two rotations ago and ends its session everywhere", async () => {
    const admin = (
      await ok(first.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    const username = uniqueName("reuse");
    const { user } = await ok(
      first.url,
      `${USERS}/CreateUser`,
      { username, email: `${username}@example.test`, password: PASSWORD },
      admin,
    );
    const t1 = (await ok(first.url, `${AUTH}/Login`, { login: username, password: PASSWORD }))
      .tokens as TokenSet;
    const t2 = (await ok(first.url, `${AUTH}/Refresh`, { refreshToken: t1.refreshToken })).tokens as TokenSet;
    const t3 = (await ok(second.url, `${AUTH}/Refresh`, { refreshToken: t2.refreshToken }))
      .tokens as TokenSet;
    expect(t3.sessionId).toBe(t1.sessionId);

    const started = performance.now();
    const replay = await fails(second.url, `${AUTH}/Refresh`, { refreshToken: t1.refreshToken });
    const refusedMs = performance.now() - started;
    expect(replay).toMatchObject({ code: "unauthenticated", reason: "refresh_token_reused" });

    // The session is over: in Keycloak, for its newest refresh token, and for its access token on both replicas.
    expect((await realm.admin("GET", `/users/${user.externalId}/sessions`)).body).toEqual([]);
    expect((await fails(first.url, `${AUTH}/Refresh`, { refreshToken: t3.refreshToken })).code).toBe(
      "unauthenticated",
    );
    for (const replica of [first, second]) {
      expect((await postJson(replica.url, `${AUTH}/VerifyToken`, { token: t3.accessToken })).status).toBe(
        401,
      );
    }
    const endedMs = performance.now() - started;
    console.info(
      `refresh token spent two rotations ago → refused in ${refusedMs.toFixed(0)} ms; session ended in Keycloak and denied on both replicas, checked ${endedMs.toFixed(0)} ms after the replay`,
    );
  });
});
