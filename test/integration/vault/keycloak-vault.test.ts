import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, createUser, setGrants } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  TEST_ADMIN,
  type TokenSet,
  USERS,
} from "../../support/identity.ts";
import {
  createTestRealm,
  ensureKeycloak,
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  type TestRealm,
} from "../../support/keycloak.ts";
import {
  concurrentGetAccessTokens,
  countingVaultTokens,
  envoyCheck,
  newVaultKey,
  openStoredToken,
  storeToken,
  VAULT,
  vaultEnv,
  vaultRows,
} from "../../support/vault.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** TokenVaultService with IDENTITY_PROVIDER=keycloak, against a real Keycloak (a realm of its own), on PostgreSQL. */
describe("token vault, Keycloak", () => {
  const keys = { k1: newVaultKey() };
  const counter = countingVaultTokens();
  let realm: TestRealm;
  let gh: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    gh = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ...realm.env, ...vaultEnv(keys, "k1") },
      hooks: { wrapVaultTokens: (tokens) => counter.wrap(tokens) },
    });
    admin = (await loginTokens(gh.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await gh?.stop();
    await realm?.delete();
  });

  /** A user created through Gatehouse (so in Keycloak too), signed in. */
  async function signedInUser(): Promise<{
    id: string;
    username: string;
    password: string;
    tokens: TokenSet;
  }> {
    const user = await createUser(gh.url, admin);
    return { ...user, tokens: await loginTokens(gh.url, user.username, user.password) };
  }

  /** Straight at Keycloak's OIDC endpoints, with Gatehouse's client. */
  async function keycloak(path: string, body: Record<string, string>) {
    const response = await fetch(`${realm.issuer}/protocol/openid-connect/${path}`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        ...body,
      }),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => ({}))) as Record<string, any>,
    };
  }
  const introspect = async (token: string) =>
    (await keycloak("token/introspect", { token, token_type_hint: "refresh_token" })).body;
  const verify = (token: string) => fails(gh.url, `${AUTH}/VerifyToken`, { token }).catch(() => "valid");
  const storedToken = async (userId: string, purpose: string) =>
    openStoredToken(
      keys,
      (await vaultRows(gh.gatehouse.dataSource, userId)).find((row) => row.purpose === purpose)!,
    );

  it("stores a Keycloak refresh token, mints access tokens that pass VerifyToken, and stores each rotated token", async () => {
    const alice = await signedInUser();
    const stored = await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    expect(stored.entry).toMatchObject({
      clientId: KEYCLOAK_CLIENT_ID,
      tokenType: "VAULT_TOKEN_TYPE_REFRESH",
      sessionId: alice.tokens.sessionId,
      state: "VAULT_ENTRY_STATE_ACTIVE",
    });
    expect(stored.entry.expireTime).toBeDefined();
    for (let round = 0; round < 3; round++) {
      const answer = await ok(
        gh.url,
        `${VAULT}/GetAccessToken`,
        { purpose: "reports" },
        alice.tokens.accessToken,
      );
      const verified = await ok(gh.url, `${AUTH}/VerifyToken`, { token: answer.accessToken });
      expect(verified.user.id).toBe(alice.id);
      expect(decodeJwt(answer.accessToken).sid).toBe(alice.tokens.sessionId);
    }
    const current = await storedToken(alice.id, "reports");
    expect(current).not.toBe(alice.tokens.refreshToken);
    expect(await introspect(current)).toMatchObject({
      active: true,
      typ: "Refresh",
      sid: alice.tokens.sessionId,
    });
  });

  it("passes requested scopes to Keycloak and refuses scopes it does not grant, leaving the entry usable", async () => {
    const alice = await signedInUser();
    await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    const scoped = await ok(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "reports", scopes: ["email"] },
      alice.tokens.accessToken,
    );
    expect(String(decodeJwt(scoped.accessToken).scope).split(" ")).toContain("email");
    const refused = await fails(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "reports", scopes: ["no-such-scope"] },
      alice.tokens.accessToken,
    );
    expect(refused).toMatchObject({ code: "invalid_argument", reason: "invalid_scope" });
    await ok(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken);
  });

  it("refuses an access token, another user's token, and a token Keycloak no longer accepts", async () => {
    const alice = await signedInUser();
    const bob = await signedInUser();
    const store = (token: string) =>
      fails(
        gh.url,
        `${VAULT}/StoreToken`,
        { purpose: "x", token, tokenType: "VAULT_TOKEN_TYPE_REFRESH" },
        alice.tokens.accessToken,
      );
    expect(await store(alice.tokens.accessToken)).toMatchObject({
      code: "invalid_argument",
      reason: "token_rejected",
    });
    expect(await store(bob.tokens.refreshToken)).toMatchObject({ reason: "token_user_mismatch" });
    const ended = await loginTokens(gh.url, alice.username, alice.password);
    await ok(gh.url, `${AUTH}/Logout`, { refreshToken: ended.refreshToken });
    expect(await store(ended.refreshToken)).toMatchObject({ reason: "token_rejected" });
    expect(await vaultRows(gh.gatehouse.dataSource, alice.id)).toHaveLength(0);
  });

  it("makes one Keycloak round trip for two concurrent GetAccessToken calls", async () => {
    const alice = await signedInUser();
    await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    const mintsBefore = counter.mints;
    const [a, b] = await concurrentGetAccessTokens(gh.url, counter, alice.tokens.accessToken, "reports");
    expect(counter.mints - mintsBefore).toBe(1);
    expect(b.accessToken).toBe(a.accessToken);
  });

  it("keeps an offline token through the user's logout, and it stops working after RevokeOfflineToken", async () => {
    const alice = await signedInUser();
    expect(
      await fails(
        gh.url,
        `${VAULT}/RequestOfflineToken`,
        { purpose: "nightly", password: "Wrong-password-123" },
        alice.tokens.accessToken,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    const requested = await ok(
      gh.url,
      `${VAULT}/RequestOfflineToken`,
      { purpose: "nightly", password: alice.password },
      alice.tokens.accessToken,
    );
    expect(requested.entry).toMatchObject({
      tokenType: "VAULT_TOKEN_TYPE_OFFLINE",
      clientId: KEYCLOAK_CLIENT_ID,
    });
    expect(requested.entry.expireTime).toBeUndefined();
    const offlineToken = await storedToken(alice.id, "nightly");
    expect(await introspect(offlineToken)).toMatchObject({ active: true, typ: "Offline" });

    await ok(gh.url, `${AUTH}/Logout`, { refreshToken: alice.tokens.refreshToken });
    expect(await verify(alice.tokens.accessToken)).not.toBe("valid");
    const again = await loginTokens(gh.url, alice.username, alice.password);
    const minted = await ok(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, again.accessToken);
    expect((await ok(gh.url, `${AUTH}/VerifyToken`, { token: minted.accessToken })).user.id).toBe(alice.id);

    const rotatedOffline = await storedToken(alice.id, "nightly");
    await ok(gh.url, `${VAULT}/RevokeOfflineToken`, { purpose: "nightly" }, again.accessToken);
    await ok(gh.url, `${VAULT}/RevokeOfflineToken`, { purpose: "nightly" }, again.accessToken);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, again.accessToken),
    ).toMatchObject({
      code: "not_found",
    });
    expect(await verify(minted.accessToken)).toMatchObject({
      code: "unauthenticated",
      reason: "session_revoked",
    });
    const refused = await keycloak("token", { grant_type: "refresh_token", refresh_token: rotatedOffline });
    expect(refused).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    // The user's other session is untouched.
    await ok(gh.url, `${AUTH}/VerifyToken`, { token: again.accessToken });
  });

  it("signs a user out everywhere through Keycloak's logout of the user, keeping the account", async () => {
    const alice = await signedInUser();
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await ok(
      gh.url,
      `${VAULT}/RequestOfflineToken`,
      { purpose: "nightly", password: alice.password },
      alice.tokens.accessToken,
    );
    const offlineToken = await storedToken(alice.id, "nightly");
    // Keycloak's not-before has whole seconds: a logout of the user in a later second than the
    // offline token's would make it stale, so make sure it is one.
    await sleep(1100);

    expect((await ok(gh.url, `${AUTH}/LogoutEverywhere`, {}, other.accessToken)).sessionsEnded).toBe(2);
    for (const tokens of [alice.tokens, other]) {
      expect(await verify(tokens.accessToken)).toMatchObject({ reason: "session_revoked" });
      expect((await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).code).toBe(
        "unauthenticated",
      );
    }
    // Offline sessions are kept unless asked for: one session at a time, no logout of the user.
    expect(await introspect(offlineToken)).toMatchObject({ active: true, typ: "Offline" });
    const again = await loginTokens(gh.url, alice.username, alice.password);
    const third = await loginTokens(gh.url, alice.username, alice.password);
    // Two online sessions and the offline one (counted since offline sessions are listed, #15).
    expect((await ok(gh.url, `${USERS}/RevokeUserSessions`, { userId: alice.id }, admin)).sessionsEnded).toBe(
      3,
    );
    expect(await verify(again.accessToken)).toMatchObject({ reason: "session_revoked" });
    expect(await verify(third.accessToken)).toMatchObject({ reason: "session_revoked" });
    // The administrator's variant ends the offline session too.
    expect(await introspect(offlineToken)).toEqual({ active: false });
    const fourth = await loginTokens(gh.url, alice.username, alice.password);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly" }, fourth.accessToken),
    ).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
  });

  it("ends a Keycloak session through RevokeSession: its access token fails Check and VerifyToken at once", async () => {
    const alice = await signedInUser();
    const service = await createService(gh.url, admin);
    await setGrants(gh.url, admin, alice.id, [{ serviceId: service.id, role: "viewer" }]);
    const other = await loginTokens(gh.url, alice.username, alice.password);
    const listed = await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    expect(listed.sessions.map((session: any) => session.id).sort()).toEqual(
      [alice.tokens.sessionId, other.sessionId].sort(),
    );
    expect(await envoyCheck(gh.url, other.accessToken, service.slug)).toBe(200);

    await ok(gh.url, `${VAULT}/RevokeSession`, { userId: alice.id, sessionId: other.sessionId }, admin);
    expect(await envoyCheck(gh.url, other.accessToken, service.slug)).toBe(401);
    expect(await verify(other.accessToken)).toMatchObject({ reason: "session_revoked" });
    expect(await envoyCheck(gh.url, alice.tokens.accessToken, service.slug)).toBe(200);
    const after = await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    expect(after.sessions.map((session: any) => session.id)).toEqual([alice.tokens.sessionId]);
    expect(
      (await keycloak("token", { grant_type: "refresh_token", refresh_token: other.refreshToken })).status,
    ).toBe(400);
  });

  it("marks an entry dead when Keycloak has ended its session: reauthentication_required", async () => {
    const alice = await signedInUser();
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    await realm.admin("DELETE", `/sessions/${other.sessionId}`);
    const failure = await fails(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "reports" },
      alice.tokens.accessToken,
    );
    expect(failure).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
    const listed = await ok(gh.url, `${VAULT}/ListVaultEntries`, {}, alice.tokens.accessToken);
    expect(listed.entries[0].state).toBe("VAULT_ENTRY_STATE_DEAD");
  });
});
