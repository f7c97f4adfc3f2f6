import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  type TokenSet,
  USERS,
  unary,
  uniqueName,
} from "../../support/identity.ts";

const GRACE_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(BACKENDS)("sign-up, sign-in, refresh and logout over the wire (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;
  let adminToken: string;

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend,
      env: { ...IDENTITY_ENV, REFRESH_GRACE_SECONDS: String(GRACE_SECONDS) },
    });
    clients = identityClients(server.url);
    adminToken = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  const getMe = (token: string) => ok(server.url, `${AUTH}/GetMe`, {}, token);

  it("signs up over grpc-js, signs in over Connect JSON, and reads and edits /me over both", async () => {
    const username = uniqueName("alice");
    const signUp = await unary<any>(clients.auth, "signUp", {
      username,
      email: `${username}@example.test`,
      password: "Correct-horse-battery-9",
      firstName: "Alice",
      lastName: "Liddell",
      phone: "+44 20 7946 0000",
    });
    expect(signUp.user).toMatchObject({ username, status: "USER_STATUS_ACTIVE", roles: ["user"] });
    expect(signUp.emailVerificationRequired).toBe(false);

    const tokens = await loginTokens(server.url, username.toUpperCase(), "Correct-horse-battery-9");
    expect(tokens.tokenType).toBe("Bearer");
    expect(tokens.expiresIn).toBeGreaterThan(0);
    const header = decodeProtectedHeader(tokens.accessToken);
    expect(header).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(header.kid).toEqual(expect.any(String));
    const claims = decodeJwt(tokens.accessToken);
    expect(claims).toMatchObject({
      sub: signUp.user.id,
      aud: "gatehouse",
      sid: tokens.sessionId,
      gh_kind: "user",
    });
    // Ids only: nothing personal travels in the token.
    expect(Object.keys(claims).sort()).toEqual(
      ["aud", "azp", "client_id", "exp", "gh_kind", "iat", "iss", "jti", "nbf", "sid", "sub"].sort(),
    );

    const me = await unary<any>(clients.auth, "getMe", {}, clients.bearer(tokens.accessToken));
    expect(me.user).toMatchObject({ id: signUp.user.id, firstName: "Alice", phone: "+44 20 7946 0000" });
    expect(me.permissions).toEqual([]);

    const updated = await ok(
      server.url,
      `${AUTH}/UpdateMe`,
      { changes: { title: "Engineer", links: { links: [{ label: "site", url: "https://alice.example" }] } } },
      tokens.accessToken,
    );
    expect(updated.user).toMatchObject({
      title: "Engineer",
      links: [{ label: "site", url: "https://alice.example" }],
    });
    expect((await getMe(tokens.accessToken)).user.title).toBe("Engineer");
  });

  it("refuses a taken username or email, a weak password, and calls without a valid token", async () => {
    const { username, email } = await signUpAndLogin(server.url);
    const body = {
      email: `${uniqueName("x")}@example.test`,
      password: "Correct-horse-battery-9",
      firstName: "A",
      lastName: "B",
    };
    expect(await fails(server.url, `${AUTH}/SignUp`, { ...body, username })).toMatchObject({
      code: "already_exists",
      reason: "user_exists",
    });
    expect(
      await fails(server.url, `${AUTH}/SignUp`, { ...body, username: uniqueName("u"), email }),
    ).toMatchObject({
      code: "already_exists",
    });
    // A username may not be another account's email: sign-in by email would find the wrong account.
    expect(
      await fails(server.url, `${AUTH}/SignUp`, { ...body, username: email.toUpperCase() }),
    ).toMatchObject({
      code: "already_exists",
      reason: "user_exists",
    });
    const weak = await fails(server.url, `${AUTH}/SignUp`, {
      ...body,
      username: uniqueName("u"),
      password: "password123",
    });
    expect(weak).toMatchObject({ code: "invalid_argument", reason: "weak_password" });
    expect(weak.details.find((d) => d.type === "google.rpc.BadRequest")?.debug.fieldViolations[0].field).toBe(
      "password",
    );
    expect(await fails(server.url, `${AUTH}/GetMe`, {})).toMatchObject({
      code: "unauthenticated",
      reason: "missing_token",
    });
    expect(await grpcFails(clients.auth, "getMe", {}, clients.bearer("not.a.token"))).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      reason: "malformed_token",
    });
  });

  it("rejects wrong credentials alike for unknown accounts and wrong passwords", async () => {
    const { username } = await signUpAndLogin(server.url);
    const wrongPassword = await fails(server.url, `${AUTH}/Login`, {
      login: username,
      password: "Nope-nope-123",
    });
    const unknownUser = await fails(server.url, `${AUTH}/Login`, {
      login: uniqueName("ghost"),
      password: "Nope-nope-123",
    });
    expect(wrongPassword).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    expect(unknownUser).toEqual(wrongPassword);
  });

  it("rotates the refresh token on every use; reuse after the grace window ends the session", async () => {
    const { tokens } = await signUpAndLogin(server.url);
    const second: TokenSet = (await ok(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken }))
      .tokens;
    expect(second.refreshToken).not.toBe(tokens.refreshToken);
    expect(second.accessToken).not.toBe(tokens.accessToken);
    expect(second.sessionId).toBe(tokens.sessionId);
    const third: TokenSet = (await unary<any>(clients.auth, "refresh", { refreshToken: second.refreshToken }))
      .tokens;
    await getMe(third.accessToken);

    await sleep(GRACE_SECONDS * 1000 + 500);
    // The first token again: someone kept a copy. The whole session ends.
    expect(await fails(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).toMatchObject({
      code: "unauthenticated",
      reason: "refresh_token_reused",
    });
    expect(await fails(server.url, `${AUTH}/Refresh`, { refreshToken: third.refreshToken })).toMatchObject({
      code: "unauthenticated",
      reason: "session_ended",
    });
    expect(await fails(server.url, `${AUTH}/GetMe`, {}, third.accessToken)).toMatchObject({
      code: "unauthenticated",
      reason: "session_revoked",
    });
    expect(await fails(server.url, `${AUTH}/Refresh`, { refreshToken: "x".repeat(43) })).toMatchObject({
      reason: "invalid_refresh_token",
    });
  });

  it("answers concurrent refreshes with one token within the grace window with the same new pair", async () => {
    const { tokens } = await signUpAndLogin(server.url);
    const answers = await Promise.all([
      ok(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken }),
      unary<any>(clients.auth, "refresh", { refreshToken: tokens.refreshToken }),
      ok(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken }),
    ]);
    const pairs = answers.map((answer) => `${answer.tokens.accessToken} ${answer.tokens.refreshToken}`);
    expect(new Set(pairs).size).toBe(1);
    // The successor is a normal, working token: and a single-use one.
    const next = (await ok(server.url, `${AUTH}/Refresh`, { refreshToken: answers[0].tokens.refreshToken }))
      .tokens;
    await getMe(next.accessToken);
  });

  it("logout by refresh token or by bearer ends the session at once; logout is idempotent", async () => {
    const { username, password, tokens } = await signUpAndLogin(server.url);
    await getMe(tokens.accessToken);
    await unary(clients.auth, "logout", { refreshToken: tokens.refreshToken });
    expect(await fails(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken)).toMatchObject({
      code: "unauthenticated",
      reason: "session_revoked",
    });
    expect(await fails(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).toMatchObject({
      code: "unauthenticated",
      reason: "session_ended",
    });
    await ok(server.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });

    // By the bearer token alone; another session of the same user keeps working.
    const first = await loginTokens(server.url, username, password);
    const other = await loginTokens(server.url, username, password);
    await ok(server.url, `${AUTH}/Logout`, {}, first.accessToken);
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, first.accessToken)).code).toBe("unauthenticated");
    expect((await getMe(other.accessToken)).user.username).toBe(username);
    expect(await fails(server.url, `${AUTH}/Logout`, {})).toMatchObject({ reason: "missing_token" });
  });

  it("changing the password checks the current one and ends every other session", async () => {
    const { username, password, tokens } = await signUpAndLogin(server.url);
    const other = await loginTokens(server.url, username, password);
    expect(
      await fails(
        server.url,
        `${AUTH}/ChangePassword`,
        { currentPassword: "Wrong-password-1", newPassword: "Another-good-pass-7" },
        tokens.accessToken,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    await ok(
      server.url,
      `${AUTH}/ChangePassword`,
      { currentPassword: password, newPassword: "Another-good-pass-7" },
      tokens.accessToken,
    );
    await getMe(tokens.accessToken);
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, other.accessToken)).reason).toBe("session_revoked");
    expect((await fails(server.url, `${AUTH}/Refresh`, { refreshToken: other.refreshToken })).reason).toBe(
      "session_ended",
    );
    await loginTokens(server.url, username, "Another-good-pass-7");
    expect((await fails(server.url, `${AUTH}/Login`, { login: username, password })).reason).toBe(
      "invalid_credentials",
    );
  });

  it("audits sign-up, sign-in, refresh reuse and logout", async () => {
    const { id, username, tokens } = await signUpAndLogin(server.url);
    await fails(server.url, `${AUTH}/Login`, { login: username, password: "Wrong-password-1" });
    await ok(server.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
    const events: any[] = (
      await ok(server.url, `${USERS}/ListAuditEvents`, { actorId: id, pageSize: 50 }, adminToken)
    ).events;
    const summary = events.map((event) => `${event.action}:${event.result}:${event.reason ?? ""}`);
    expect(summary).toEqual(
      expect.arrayContaining([
        "auth.signup:success:",
        "auth.login:success:",
        "auth.login:failure:invalid_credentials",
        "auth.logout:success:",
      ]),
    );
    const login = events.find((event) => event.action === "auth.login" && event.result === "success");
    expect(login).toMatchObject({
      actorKind: "user",
      targetKind: "session",
      ipAddress: expect.stringContaining("127.0.0.1"),
    });
    expect(login.requestId).toEqual(expect.any(String));
    // Newest first.
    expect(events[0].action).toBe("auth.logout");
    const reused: any[] = (
      await ok(
        server.url,
        `${USERS}/ListAuditEvents`,
        { action: "auth.refresh", result: "failure", pageSize: 50 },
        adminToken,
      )
    ).events;
    expect(reused.map((event) => event.reason)).toContain("refresh_token_reused");
  });
});
