import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashOpaqueToken } from "../../../src/domain/opaque-token.ts";
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
  uniqueName,
} from "../../support/identity.ts";
import {
  concurrentGetAccessTokens,
  countingVaultTokens,
  envoyCheck,
  newVaultKey,
  openStoredToken,
  setSealed,
  storeToken,
  VAULT,
  vaultEnv,
  vaultRows,
} from "../../support/vault.ts";

/** TokenVaultService on the built-in provider, on the embedded database and on PostgreSQL + Redis. */
describe.each(BACKENDS)("token vault, built-in provider (%s)", (backend) => {
  const keys = { k1: newVaultKey() };
  const counter = countingVaultTokens();
  let gh: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    gh = await startTestGatehouse({
      backend,
      // A grace window longer than any test: a copy that still works within it would be seen to.
      env: { ...IDENTITY_ENV, ...vaultEnv(keys, "k1"), REFRESH_GRACE_SECONDS: "60" },
      hooks: { wrapVaultTokens: (tokens) => counter.wrap(tokens) },
    });
    admin = (await loginTokens(gh.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await gh?.stop();
  });

  const verify = (token: string) => fails(gh.url, `${AUTH}/VerifyToken`, { token }).catch(() => "valid");
  const refreshTokenRow = async (token: string) =>
    (
      await gh.gatehouse.dataSource.query(`SELECT rotated_at FROM refresh_tokens WHERE token_hash = $1`, [
        hashOpaqueToken(token),
      ])
    )[0] as { rotated_at: Date | null } | undefined;

  it("stores a refresh token sealed, mints access tokens that pass VerifyToken, and persists each rotation", async () => {
    const alice = await signUpAndLogin(gh.url);
    const stored = await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    expect(stored.entry).toMatchObject({
      userId: alice.id,
      clientId: "gatehouse",
      purpose: "reports",
      tokenType: "VAULT_TOKEN_TYPE_REFRESH",
      state: "VAULT_ENTRY_STATE_ACTIVE",
      sessionId: alice.tokens.sessionId,
    });
    expect(JSON.stringify(stored)).not.toContain(alice.tokens.refreshToken);
    const [row] = await vaultRows(gh.gatehouse.dataSource, alice.id);
    expect(row!.key_id).toBe("k1");
    expect(Buffer.from(row!.token_sealed).includes(Buffer.from(alice.tokens.refreshToken))).toBe(false);

    const minted: string[] = [];
    for (let round = 0; round < 3; round++) {
      const answer = await ok(
        gh.url,
        `${VAULT}/GetAccessToken`,
        { purpose: "reports" },
        alice.tokens.accessToken,
      );
      expect(answer.tokenType).toBe("Bearer");
      expect(Object.keys(answer).sort()).toEqual(["accessToken", "expireTime", "tokenType"]);
      const verified = await ok(gh.url, `${AUTH}/VerifyToken`, { token: answer.accessToken });
      expect(verified.user.id).toBe(alice.id);
      expect(verified.session.id).toBe(alice.tokens.sessionId);
      minted.push(answer.accessToken);
    }
    expect(new Set(minted).size).toBe(3);

    // The stored token is the session's current one; the one handed in was rotated away.
    const current = openStoredToken(keys, (await vaultRows(gh.gatehouse.dataSource, alice.id))[0]!);
    expect(current).not.toBe(alice.tokens.refreshToken);
    expect((await refreshTokenRow(current))!.rotated_at).toBeNull();
    expect((await refreshTokenRow(alice.tokens.refreshToken))!.rotated_at).not.toBeNull();
    const listed = await ok(gh.url, `${VAULT}/ListVaultEntries`, {}, alice.tokens.accessToken);
    expect(listed.entries).toHaveLength(1);
    expect(listed.entries[0].lastUsedDate).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain(current);
  });

  it("spends the caller's copy of a stored token at the first mint, grace window or not", async () => {
    const alice = await signUpAndLogin(gh.url);
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    const minted = await ok(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "reports" },
      alice.tokens.accessToken,
    );
    // Moments later, well within REFRESH_GRACE_SECONDS: the copy is spent, and presenting it ends the session.
    expect(await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: other.refreshToken })).toMatchObject({
      code: "unauthenticated",
      reason: "refresh_token_reused",
    });
    expect(await verify(minted.accessToken)).toMatchObject({ reason: "session_revoked" });
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken),
    ).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
  });

  it("does not share with the vault a pair its caller refreshed to after handing the token over", async () => {
    const alice = await signUpAndLogin(gh.url);
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    const kept = (await ok(gh.url, `${AUTH}/Refresh`, { refreshToken: other.refreshToken })).tokens;
    // Within the grace window the vault would otherwise get the very pair the caller now holds.
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken),
    ).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
    expect(await verify(kept.accessToken)).toMatchObject({ reason: "session_revoked" });
    expect(await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: kept.refreshToken })).toMatchObject({
      reason: "session_ended",
    });
  });

  it("records a mint as the session's use, not as its user being seen", async () => {
    const alice = await signUpAndLogin(gh.url);
    const signIn = await postJson(
      gh.url,
      `${AUTH}/Login`,
      { login: alice.username, password: alice.password },
      { "user-agent": "tablet/3" },
    );
    const other = signIn.body.tokens as { refreshToken: string; sessionId: string };
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    const mint = await postJson(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "reports" },
      { authorization: `Bearer ${alice.tokens.accessToken}`, "user-agent": "vault-caller/9" },
    );
    expect(mint.status).toBe(200);
    const sessions = await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    const session = sessions.sessions.find((s: any) => s.id === other.sessionId);
    expect(session).toMatchObject({ userAgent: "tablet/3", lastSeenUserAgent: "tablet/3" });
    expect(session.lastSeenDate).toBe(session.startDate);
    expect(Date.parse(session.lastAccessDate)).toBeGreaterThan(Date.parse(session.startDate));
  });

  it("refuses tokens the provider does not accept, and other users' tokens, storing nothing", async () => {
    const alice = await signUpAndLogin(gh.url);
    const bob = await signUpAndLogin(gh.url);
    const store = (token: string, tokenType = "VAULT_TOKEN_TYPE_REFRESH") =>
      fails(gh.url, `${VAULT}/StoreToken`, { purpose: "x", token, tokenType }, alice.tokens.accessToken);
    expect(await store("A".repeat(43))).toMatchObject({ code: "invalid_argument", reason: "token_rejected" });
    expect(await store(bob.tokens.refreshToken)).toMatchObject({ reason: "token_user_mismatch" });
    expect(await store(alice.tokens.refreshToken, "VAULT_TOKEN_TYPE_OFFLINE")).toMatchObject({
      reason: "token_type_mismatch",
    });
    expect(await vaultRows(gh.gatehouse.dataSource, alice.id)).toHaveLength(0);
  });

  it("lets only the user, or holders of vault.read / vault.write, act on their entries and sessions", async () => {
    const alice = await signUpAndLogin(gh.url);
    const bob = await signUpAndLogin(gh.url);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    // Each request with only its own fields: unknown JSON fields are refused.
    const forAlice = { userId: alice.id, purpose: "reports" };
    for (const [method, request] of [
      ["GetAccessToken", forAlice],
      ["ListVaultEntries", { userId: alice.id }],
      ["ListSessions", { userId: alice.id }],
      ["RevokeOfflineToken", forAlice],
    ] as const) {
      expect(await fails(gh.url, `${VAULT}/${method}`, request, bob.tokens.accessToken)).toMatchObject({
        code: "permission_denied",
        reason: "missing_permission",
      });
    }
    expect(
      await fails(
        gh.url,
        `${VAULT}/RevokeSession`,
        { userId: alice.id, sessionId: alice.tokens.sessionId },
        bob.tokens.accessToken,
      ),
    ).toMatchObject({ code: "permission_denied" });
    expect(await fails(gh.url, `${VAULT}/ListVaultEntries`, {})).toMatchObject({ code: "unauthenticated" });
    const byAdmin = await ok(gh.url, `${VAULT}/GetAccessToken`, forAlice, admin);
    expect((await ok(gh.url, `${AUTH}/VerifyToken`, { token: byAdmin.accessToken })).user.id).toBe(alice.id);
    expect((await ok(gh.url, `${VAULT}/ListSessions`, { userId: alice.id }, admin)).sessions).toHaveLength(1);
  });

  it("lets no vault.write holder mint or revoke the tokens of someone more privileged", async () => {
    const role = await ok(
      gh.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: uniqueName("vault-operator"), permissions: { permissions: ["vault.read", "vault.write"] } },
      admin,
    );
    const operatorName = uniqueName("operator");
    await ok(
      gh.url,
      "gatehouse.v1.UserService/CreateUser",
      {
        username: operatorName,
        email: `${operatorName}@example.test`,
        password: "Operator-pass-123",
        emailVerified: true,
        roles: ["user", role.role.name],
      },
      admin,
    );
    const operator = (await loginTokens(gh.url, operatorName, "Operator-pass-123")).accessToken;
    const victimName = uniqueName("admin");
    const victim = await ok(
      gh.url,
      "gatehouse.v1.UserService/CreateUser",
      {
        username: victimName,
        email: `${victimName}@example.test`,
        password: "Victim-admin-pass-1",
        emailVerified: true,
        roles: ["admin"],
      },
      admin,
    );
    const victimTokens = await loginTokens(gh.url, victimName, "Victim-admin-pass-1");
    await storeToken(gh.url, victimTokens.accessToken, "reports", victimTokens.refreshToken);
    const forVictim = { userId: victim.user.id, purpose: "reports" };
    for (const [method, body] of [
      ["GetAccessToken", forVictim],
      ["RevokeOfflineToken", forVictim],
      ["RevokeSession", { userId: victim.user.id, sessionId: victimTokens.sessionId }],
    ] as const) {
      expect(await fails(gh.url, `${VAULT}/${method}`, body, operator), method).toMatchObject({
        code: "permission_denied",
        reason: "target_more_privileged",
      });
    }
    // Reading is allowed; the administrator's session and entry are untouched.
    expect(
      (await ok(gh.url, `${VAULT}/ListSessions`, { userId: victim.user.id }, operator)).sessions,
    ).toHaveLength(1);
    await ok(gh.url, `${AUTH}/GetMe`, {}, victimTokens.accessToken);
    await ok(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, victimTokens.accessToken);
  });

  it("makes one provider round trip for two concurrent GetAccessToken calls", async () => {
    const alice = await signUpAndLogin(gh.url);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    const mintsBefore = counter.mints;
    const [a, b] = await concurrentGetAccessTokens(gh.url, counter, alice.tokens.accessToken, "reports");
    expect(counter.mints - mintsBefore).toBe(1);
    expect(b.accessToken).toBe(a.accessToken);
    await ok(gh.url, `${AUTH}/VerifyToken`, { token: a.accessToken });
  });

  it("keeps an offline token through the user's logout, and it stops working after RevokeOfflineToken", async () => {
    const alice = await signUpAndLogin(gh.url);
    const requested = await ok(
      gh.url,
      `${VAULT}/RequestOfflineToken`,
      { purpose: "nightly-sync", password: alice.password },
      alice.tokens.accessToken,
    );
    expect(requested.entry).toMatchObject({ tokenType: "VAULT_TOKEN_TYPE_OFFLINE", clientId: "gatehouse" });
    expect(requested.entry.sessionId).not.toBe(alice.tokens.sessionId);
    const sessions = await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    expect(sessions.sessions.find((s: any) => s.id === requested.entry.sessionId)).toMatchObject({
      offline: true,
    });
    expect(
      await fails(
        gh.url,
        `${VAULT}/RequestOfflineToken`,
        { purpose: "other", password: "Wrong-password-123" },
        alice.tokens.accessToken,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });

    await ok(gh.url, `${AUTH}/Logout`, { refreshToken: alice.tokens.refreshToken });
    expect(await verify(alice.tokens.accessToken)).not.toBe("valid");
    // A new sign-in for the calls below; the offline session lives on.
    const again = await loginTokens(gh.url, alice.username, alice.password);
    const minted = await ok(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "nightly-sync" },
      again.accessToken,
    );
    expect((await ok(gh.url, `${AUTH}/VerifyToken`, { token: minted.accessToken })).session.id).toBe(
      requested.entry.sessionId,
    );
    const offlineToken = openStoredToken(
      keys,
      (await vaultRows(gh.gatehouse.dataSource, alice.id)).find((row) => row.purpose === "nightly-sync")!,
    );

    await ok(gh.url, `${VAULT}/RevokeOfflineToken`, { purpose: "nightly-sync" }, again.accessToken);
    await ok(gh.url, `${VAULT}/RevokeOfflineToken`, { purpose: "nightly-sync" }, again.accessToken);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "nightly-sync" }, again.accessToken),
    ).toMatchObject({ code: "not_found", reason: "vault_entry_not_found" });
    expect(await verify(minted.accessToken)).toMatchObject({
      code: "unauthenticated",
      reason: "session_revoked",
    });
    expect(await fails(gh.url, `${AUTH}/Refresh`, { refreshToken: offlineToken })).toMatchObject({
      code: "unauthenticated",
    });
  });

  it("ends a session through RevokeSession: its access token fails Check and VerifyToken at once", async () => {
    const alice = await signUpAndLogin(gh.url);
    const service = await createService(gh.url, admin);
    await setGrants(gh.url, admin, alice.id, [{ serviceId: service.id, role: "viewer" }]);
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    expect(await envoyCheck(gh.url, other.accessToken, service.slug)).toBe(200);

    await ok(gh.url, `${VAULT}/RevokeSession`, { sessionId: other.sessionId }, alice.tokens.accessToken);
    expect(await envoyCheck(gh.url, other.accessToken, service.slug)).toBe(401);
    expect(await verify(other.accessToken)).toMatchObject({ reason: "session_revoked" });
    // The caller's own session is untouched; the entry holding the ended session's token is dead.
    expect(await envoyCheck(gh.url, alice.tokens.accessToken, service.slug)).toBe(200);
    const sessions = await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    expect(sessions.sessions.map((s: any) => s.id)).toEqual([alice.tokens.sessionId]);
    expect(
      await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken),
    ).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
    // Idempotent.
    await ok(gh.url, `${VAULT}/RevokeSession`, { sessionId: other.sessionId }, alice.tokens.accessToken);
  });

  it("marks an entry dead when the provider has revoked its token: reauthentication_required", async () => {
    const alice = await signUpAndLogin(gh.url);
    const other = await loginTokens(gh.url, alice.username, alice.password);
    await storeToken(gh.url, alice.tokens.accessToken, "reports", other.refreshToken);
    await ok(gh.url, `${AUTH}/Logout`, {}, other.accessToken);
    const mintsBefore = counter.mints;
    for (let attempt = 0; attempt < 2; attempt++) {
      const failure = await fails(
        gh.url,
        `${VAULT}/GetAccessToken`,
        { purpose: "reports" },
        alice.tokens.accessToken,
      );
      expect(failure).toMatchObject({ code: "failed_precondition", reason: "reauthentication_required" });
      expect(failure.message).toMatch(/sign in again/);
    }
    expect(counter.mints - mintsBefore).toBe(1);
    const listed = await ok(gh.url, `${VAULT}/ListVaultEntries`, {}, alice.tokens.accessToken);
    expect(listed.entries[0].state).toBe("VAULT_ENTRY_STATE_DEAD");
  });

  it("answers DATA_LOSS, returning nothing, for a ciphertext altered by one byte or copied from another entry", async () => {
    const alice = await signUpAndLogin(gh.url);
    const bob = await signUpAndLogin(gh.url);
    for (const user of [alice, bob]) {
      await storeToken(gh.url, user.tokens.accessToken, "reports", user.tokens.refreshToken);
    }
    const [aliceRow] = await vaultRows(gh.gatehouse.dataSource, alice.id);
    const [bobRow] = await vaultRows(gh.gatehouse.dataSource, bob.id);
    const mintsBefore = counter.mints;
    const get = () =>
      fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken);

    const tampered = Buffer.from(aliceRow!.token_sealed);
    tampered[20] = tampered[20]! ^ 0x01;
    await setSealed(gh.gatehouse.dataSource, aliceRow!.id, aliceRow!.key_id, tampered);
    const altered = await get();
    expect(altered).toMatchObject({ code: "data_loss", reason: "sealed_token_unreadable" });
    expect(JSON.stringify(altered)).not.toMatch(/accessToken/);

    await setSealed(gh.gatehouse.dataSource, aliceRow!.id, bobRow!.key_id, bobRow!.token_sealed);
    expect(await get()).toMatchObject({ code: "data_loss", reason: "sealed_token_unreadable" });
    expect(counter.mints).toBe(mintsBefore);

    // Put back as it was, it opens again.
    await setSealed(gh.gatehouse.dataSource, aliceRow!.id, aliceRow!.key_id, aliceRow!.token_sealed);
    await ok(gh.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken);
  });

  it("audits every vault read and write, without tokens", async () => {
    const alice = await signUpAndLogin(gh.url);
    await storeToken(gh.url, alice.tokens.accessToken, "audited", alice.tokens.refreshToken);
    const minted = await ok(
      gh.url,
      `${VAULT}/GetAccessToken`,
      { purpose: "audited" },
      alice.tokens.accessToken,
    );
    await ok(gh.url, `${VAULT}/ListVaultEntries`, {}, alice.tokens.accessToken);
    await ok(gh.url, `${VAULT}/ListSessions`, {}, alice.tokens.accessToken);
    await fails(gh.url, `${VAULT}/GetAccessToken`, { purpose: "missing" }, alice.tokens.accessToken);
    const events = (
      await ok(
        gh.url,
        "gatehouse.v1.UserService/ListAuditEvents",
        { actorId: alice.id, action: "vault.", pageSize: 50 },
        admin,
      )
    ).events;
    expect(events.map((event: any) => `${event.action}:${event.result}`).sort()).toEqual(
      [
        "vault.get_access_token:failure",
        "vault.get_access_token:success",
        "vault.list_entries:success",
        "vault.list_sessions:success",
        "vault.store_token:success",
      ].sort(),
    );
    const text = JSON.stringify(events);
    expect(text).not.toContain(alice.tokens.refreshToken);
    expect(text).not.toContain(minted.accessToken);
  });
});
