import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { createService, setGrants } from "../../support/fixtures.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  type TokenSet,
  USERS,
} from "../../support/identity.ts";
import { envoyCheck, newVaultKey, VAULT, vaultEnv } from "../../support/vault.ts";

// Long enough for the refreshes below on a loaded machine, short enough to wait out.
const MAX_LIFETIME_SECONDS = 6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Connect JSON call from a given client (user agent, and address through one trusted proxy). */
async function from(
  client: { userAgent: string; ip: string },
  url: string,
  procedure: string,
  body: unknown,
  token?: string,
): Promise<any> {
  const response = await postJson(url, procedure, body, {
    "user-agent": client.userAgent,
    "x-forwarded-for": client.ip,
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  });
  if (response.status !== 200) throw new Error(`${procedure}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Session rules of the built-in provider, through the wire, on both backends. */
describe.each(BACKENDS)("sessions: lifetime, origin, sign-out everywhere (%s)", (backend) => {
  let gh: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    gh = await startTestGatehouse({
      backend,
      env: { ...IDENTITY_ENV, ...vaultEnv({ k1: newVaultKey() }, "k1"), TRUSTED_PROXY_HOPS: "1" },
    });
    admin = (await loginTokens(gh.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await gh?.stop();
  });

  const verify = (url: string, token: string) =>
    fails(url, `${AUTH}/VerifyToken`, { token }).catch(() => "valid" as const);
  const sessionsOf = async (accessToken: string) =>
    (await ok(gh.url, `${VAULT}/ListSessions`, {}, accessToken)).sessions as any[];

  it("keeps where a session started apart from where its user was last seen", async () => {
    const laptop = { userAgent: "laptop/1", ip: "198.51.100.1" };
    const phone = { userAgent: "phone/2", ip: "203.0.113.7" };
    const alice = await signUpAndLogin(gh.url);
    const signIn = (
      await from(laptop, gh.url, `${AUTH}/Login`, { login: alice.username, password: alice.password })
    ).tokens as TokenSet;
    const before = (await sessionsOf(alice.tokens.accessToken)).find((s) => s.id === signIn.sessionId);
    expect(before).toMatchObject({
      ipAddress: laptop.ip,
      userAgent: laptop.userAgent,
      lastSeenIpAddress: laptop.ip,
      lastSeenUserAgent: laptop.userAgent,
    });
    await sleep(20);
    await from(phone, gh.url, `${AUTH}/Refresh`, { refreshToken: signIn.refreshToken });
    const after = (await sessionsOf(alice.tokens.accessToken)).find((s) => s.id === signIn.sessionId);
    expect(after).toMatchObject({
      ipAddress: laptop.ip,
      userAgent: laptop.userAgent,
      startDate: before.startDate,
      lastSeenIpAddress: phone.ip,
      lastSeenUserAgent: phone.userAgent,
    });
    expect(Date.parse(after.lastSeenDate)).toBeGreaterThan(Date.parse(before.lastSeenDate));
    expect(after.lastAccessDate).toBe(after.lastSeenDate);
  });

  it("LogoutEverywhere ends every online session of the user at once, and keeps the account", async () => {
    const alice = await signUpAndLogin(gh.url);
    const service = await createService(gh.url, admin);
    await setGrants(gh.url, admin, alice.id, [{ serviceId: service.id, role: "viewer" }]);
    const second = await loginTokens(gh.url, alice.username, alice.password);
    const offline = await ok(
      gh.url,
      `${VAULT}/RequestOfflineToken`,
      { purpose: "nightly", password: alice.password },
      alice.tokens.accessToken,
    );
    const bob = await signUpAndLogin(gh.url);
    expect(await envoyCheck(gh.url, second.accessToken, service.slug)).toBe(200);

    const answer = await ok(gh.url, `${AUTH}/LogoutEverywhere`, {}, second.accessToken);
    expect(answer.sessionsEnded).toBe(2);
    for (const tokens of [alice.tokens, second]) {
      expect(await verify(gh.url, tokens.accessToken)).toMatchObject({ reason: "session_revoked" });
      expect(await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).toMatchObject({
        reason: "session_ended",
      });
    }
    expect(await envoyCheck(gh.url, second.accessToken, service.slug)).toBe(401);
    // Not disabled, same password; another user's session untouched; the offline session lives on.
    const again = await loginTokens(gh.url, alice.username, alice.password);
    expect(await verify(gh.url, bob.tokens.accessToken)).toBe("valid");
    expect((await sessionsOf(again.accessToken)).map((s) => s.id).sort()).toEqual(
      [again.sessionId, offline.entry.sessionId].sort(),
    );
    await ok(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, again.accessToken);

    // include_offline ends the offline session too.
    expect(
      (await ok(gh.url, `${AUTH}/LogoutEverywhere`, { includeOffline: true }, again.accessToken))
        .sessionsEnded,
    ).toBe(2);
    const third = await loginTokens(gh.url, alice.username, alice.password);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, third.accessToken),
    ).toMatchObject({ reason: "reauthentication_required" });
    // An ended session cannot call it again; both calls are audited.
    expect(await fails(gh.url, `${AUTH}/LogoutEverywhere`, {}, again.accessToken)).toMatchObject({
      code: "unauthenticated",
    });
    const events = await ok(
      gh.url,
      `${USERS}/ListAuditEvents`,
      { action: "auth.logout_everywhere", actorId: alice.id },
      admin,
    );
    expect(events.events).toHaveLength(2);
  });

  it("RevokeUserSessions lets an administrator end every session of a user, offline ones too", async () => {
    const bob = await signUpAndLogin(gh.url);
    const second = await loginTokens(gh.url, bob.username, bob.password);
    const offline = await ok(
      gh.url,
      `${VAULT}/RequestOfflineToken`,
      { purpose: "nightly", password: bob.password },
      bob.tokens.accessToken,
    );
    const minted = await ok(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "nightly" },
      bob.tokens.accessToken,
    );
    const carol = await signUpAndLogin(gh.url);
    expect(
      await fails(gh.url, `${USERS}/RevokeUserSessions`, { userId: bob.id }, carol.tokens.accessToken),
    ).toMatchObject({ code: "permission_denied" });
    expect(await verify(gh.url, bob.tokens.accessToken)).toBe("valid");

    expect((await ok(gh.url, `${USERS}/RevokeUserSessions`, { userId: bob.id }, admin)).sessionsEnded).toBe(
      3,
    );
    for (const token of [bob.tokens.accessToken, second.accessToken, minted.accessToken]) {
      expect(await verify(gh.url, token)).toMatchObject({ reason: "session_revoked" });
    }
    const again = await loginTokens(gh.url, bob.username, bob.password);
    expect((await sessionsOf(again.accessToken)).map((s) => s.id)).toEqual([again.sessionId]);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, again.accessToken),
    ).toMatchObject({ reason: "reauthentication_required" });
    expect(offline.entry.sessionId).not.toBe(again.sessionId);
    expect((await ok(gh.url, `${USERS}/GetUser`, { userId: bob.id }, admin)).user.status).toBe(
      "USER_STATUS_ACTIVE",
    );
    expect((await ok(gh.url, `${USERS}/RevokeUserSessions`, { userId: bob.id }, admin)).sessionsEnded).toBe(
      1,
    );
    expect(
      await fails(
        gh.url,
        `${USERS}/RevokeUserSessions`,
        { userId: "0b0b0b0b-0000-4000-8000-000000000000" },
        admin,
      ),
    ).toMatchObject({ code: "not_found" });
    const events = await ok(
      gh.url,
      `${USERS}/ListAuditEvents`,
      { action: "users.revoke_sessions", targetId: bob.id },
      admin,
    );
    // Newest first: the two revocations, then the refused attempt.
    expect(events.events.map((event: any) => event.result)).toEqual(["success", "success", "failure"]);
  });
});

/** A separate instance per backend: one embedded database per process at a time. */
describe.each(BACKENDS)("sessions: absolute lifetime (%s)", (backend) => {
  let gh: TestGatehouse;

  beforeAll(async () => {
    gh = await startTestGatehouse({
      backend,
      env: {
        ...IDENTITY_ENV,
        SESSION_MAX_LIFETIME_SECONDS: String(MAX_LIFETIME_SECONDS),
        REFRESH_TOKEN_TTL_SECONDS: "3600",
      },
    });
  });
  afterAll(async () => {
    await gh?.stop();
  });

  it("never refreshes an online session past SESSION_MAX_LIFETIME_SECONDS, and refuses it there", async () => {
    const alice = await signUpAndLogin(gh.url);
    const [session] = (await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken)).sessions;
    const cap = Date.parse(session.startDate) + MAX_LIFETIME_SECONDS * 1000;
    let tokens: TokenSet & { refreshTokenExpireTime?: string } = alice.tokens;
    for (let round = 0; round < 2; round++) {
      tokens = (await ok(gh.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).tokens;
      expect(Date.parse(tokens.refreshTokenExpireTime!)).toBeLessThanOrEqual(cap);
    }
    const [refreshed] = (await ok(gh.url, `${VAULT}/ListSessions`, {}, tokens.accessToken)).sessions;
    expect(Date.parse(refreshed.expireDate)).toBe(cap);
    await sleep(Math.max(0, cap - Date.now()) + 250);
    expect(await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).toMatchObject({
      code: "unauthenticated",
      reason: "session_ended",
    });
    // The account is fine: a new sign-in opens a new session.
    await loginTokens(gh.url, alice.username, alice.password);
  });
});

/** Two replicas sharing PostgreSQL and Redis: the revocations travel through the change feed. */
describe("sessions: sign-out everywhere across replicas (postgres)", () => {
  let gh: TestGatehouse;
  let replica: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    gh = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    replica = await startTestGatehouse({ backend: "postgres", shareWith: gh });
    admin = (await loginTokens(gh.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await replica?.stop();
    await gh?.stop();
  });

  const verify = (url: string, token: string) =>
    fails(url, `${AUTH}/VerifyToken`, { token }).catch(() => "valid" as const);

  it("ends the sessions on the other replica too", async () => {
    const alice = await signUpAndLogin(gh.url);
    expect(await verify(replica.url, alice.tokens.accessToken)).toBe("valid");
    await ok(replica.url, `${AUTH}/LogoutEverywhere`, {}, alice.tokens.accessToken);
    const bob = await signUpAndLogin(replica.url);
    expect(await verify(gh.url, bob.tokens.accessToken)).toBe("valid");
    await ok(gh.url, `${USERS}/RevokeUserSessions`, { userId: bob.id }, admin);
    // The change feed delivers in milliseconds: poll, never time.
    for (const [url, token] of [
      [gh.url, alice.tokens.accessToken],
      [replica.url, bob.tokens.accessToken],
    ] as const) {
      const deadline = Date.now() + 15_000;
      while ((await verify(url, token)) === "valid") {
        if (Date.now() > deadline) throw new Error("the other replica still accepts the token");
        await sleep(50);
      }
      expect(await verify(url, token)).toMatchObject({ reason: "session_revoked" });
    }
  });
});
