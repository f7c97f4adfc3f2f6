import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
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

export const REGISTRY = "gatehouse.v1.ServiceRegistryService";
export const AUTH_SERVICE = AUTH;

/** What differs between providers in setting up a case; everything asserted is the same. */
export interface ProviderHarness {
  readonly name: "local" | "keycloak";
  readonly backend: Backend;
  /** Starts what the provider needs (a Keycloak realm, a mail catcher) and returns Gatehouse's environment. */
  setup(): Promise<Record<string, string>>;
  teardown(): Promise<void>;
  /** A user with TOTP on, as each provider enrols one; `code()` gives a code not used before. */
  mfaUser(gatehouse: TestGatehouse): Promise<{ login: string; password: string; code(): string }>;
  /** A service account able to get client-credentials tokens: its Gatehouse id and client credentials. */
  serviceAccount(
    gatehouse: TestGatehouse,
    adminToken: string,
  ): Promise<{ id: string; clientId: string; clientSecret: string }>;
  /**
   * Waits for the password-reset mail to `email` and follows it to set `newPassword`
   * (Gatehouse's token through ResetPassword, or Keycloak's UPDATE_PASSWORD pages).
   */
  resetPassword(gatehouse: TestGatehouse, email: string, newPassword: string): Promise<void>;
  /** Whether any mail reached this address. */
  mailCount(email: string): number;
  /**
   * How a disabled account's sign-in with the right password fails. The
   * built-in provider checks the password first and says PERMISSION_DENIED;
   * Keycloak answers "account disabled" before it checks the password, so
   * Gatehouse cannot tell a right password from a wrong one: UNAUTHENTICATED.
   */
  readonly disabledSignInCode: "permission_denied" | "unauthenticated";
  /**
   * Whether a password reset ends the user's sessions. Gatehouse's ResetPassword
   * does; Keycloak's UPDATE_PASSWORD page leaves other sessions unless the user
   * ticks "sign out from other devices", and Gatehouse does not hear of it.
   */
  readonly resetEndsSessions: boolean;
}

const PASSWORD = "Correct-horse-battery-9";

/**
 * The identity contract: every Auth and User RPC behaves the same whichever
 * provider runs. Run once per provider (contract.test.ts).
 */
export function describeIdentityContract(harness: ProviderHarness): void {
  describe(`identity contract (${harness.name} provider)`, () => {
    let gatehouse: TestGatehouse;
    let url: string;
    let adminToken: string;

    beforeAll(async () => {
      const env = await harness.setup();
      gatehouse = await startTestGatehouse({ backend: harness.backend, env: { ...IDENTITY_ENV, ...env } });
      url = gatehouse.url;
      adminToken = (await login(TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    });
    afterAll(async () => {
      await gatehouse?.stop();
      await harness.teardown();
    });

    async function login(loginName: string, password: string): Promise<TokenSet> {
      const response = await ok(url, `${AUTH}/Login`, { login: loginName, password });
      if (response.tokens === undefined)
        throw new Error(`no tokens for ${loginName}: ${JSON.stringify(response)}`);
      return response.tokens;
    }

    async function signUp(overrides: Record<string, string> = {}) {
      const username = uniqueName("user");
      const email = `${username}@example.test`;
      const response = await ok(url, `${AUTH}/SignUp`, {
        username,
        email,
        password: PASSWORD,
        firstName: "Ada",
        lastName: "Lovelace",
        ...overrides,
      });
      return { id: response.user.id as string, username, email };
    }

    const verify = (token: string) => ok(url, `${AUTH}/VerifyToken`, { token });
    const verifyFails = (token: string) => fails(url, `${AUTH}/VerifyToken`, { token });

    it("signs up, signs in by username and by email, and reads the signed-in user", async () => {
      const user = await signUp({ phone: "+44 20 7946 0000" });
      const byName = await login(user.username, PASSWORD);
      const byEmail = await login(user.email, PASSWORD);
      expect(byName.tokenType).toBe("Bearer");
      expect(byName.refreshToken).not.toBe("");
      expect(byName.sessionId).not.toBe(byEmail.sessionId);
      const me = await ok(url, `${AUTH}/GetMe`, {}, byEmail.accessToken);
      expect(me.user).toMatchObject({
        id: user.id,
        username: user.username,
        firstName: "Ada",
        lastName: "Lovelace",
        phone: "+44 20 7946 0000",
        status: "USER_STATUS_ACTIVE",
      });
      const verified = await verify(byName.accessToken);
      expect(verified).toMatchObject({
        principalKind: "user",
        user: { id: user.id },
        session: { id: byName.sessionId },
      });
    });

    it("refuses a wrong password and an unknown account alike", async () => {
      const user = await signUp();
      const wrong = await fails(url, `${AUTH}/Login`, { login: user.username, password: "Wrong-password-1" });
      const unknown = await fails(url, `${AUTH}/Login`, { login: uniqueName("nobody"), password: PASSWORD });
      expect(wrong).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
      expect(unknown).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    });

    it("refuses a duplicate username or email with ALREADY_EXISTS", async () => {
      const user = await signUp();
      const sameName = await fails(url, `${AUTH}/SignUp`, {
        username: user.username,
        email: `${uniqueName("other")}@example.test`,
        password: PASSWORD,
        firstName: "A",
        lastName: "B",
      });
      const sameEmail = await fails(
        url,
        `${USERS}/CreateUser`,
        { username: uniqueName("u"), email: user.email },
        adminToken,
      );
      expect(sameName.code).toBe("already_exists");
      expect(sameEmail.code).toBe("already_exists");
    });

    it("rotates refresh tokens; replaying a used one fails and ends the session", async () => {
      const user = await signUp();
      const first = await login(user.username, PASSWORD);
      const second = (await ok(url, `${AUTH}/Refresh`, { refreshToken: first.refreshToken }))
        .tokens as TokenSet;
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.sessionId).toBe(first.sessionId);
      await verify(second.accessToken);

      const replay = await fails(url, `${AUTH}/Refresh`, { refreshToken: first.refreshToken });
      expect(replay).toMatchObject({ code: "unauthenticated", reason: "refresh_token_reused" });
      expect((await fails(url, `${AUTH}/Refresh`, { refreshToken: second.refreshToken })).code).toBe(
        "unauthenticated",
      );
      expect((await verifyFails(second.accessToken)).code).toBe("unauthenticated");
    });

    it("logs out: the session's access token is refused at once, its refresh token too; logout is idempotent", async () => {
      const user = await signUp();
      const tokens = await login(user.username, PASSWORD);
      const other = await login(user.username, PASSWORD);
      await verify(tokens.accessToken);
      await ok(url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
      expect(await verifyFails(tokens.accessToken)).toMatchObject({
        code: "unauthenticated",
        reason: "session_revoked",
      });
      expect((await fails(url, `${AUTH}/GetMe`, {}, tokens.accessToken)).code).toBe("unauthenticated");
      expect((await fails(url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).code).toBe(
        "unauthenticated",
      );
      await ok(url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
      // Other sessions of the user go on.
      await verify(other.accessToken);
    });

    it("logs out by the bearer token when no refresh token is given", async () => {
      const user = await signUp();
      const tokens = await login(user.username, PASSWORD);
      await ok(url, `${AUTH}/Logout`, {}, tokens.accessToken);
      expect((await verifyFails(tokens.accessToken)).reason).toBe("session_revoked");
      expect((await fails(url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).code).toBe(
        "unauthenticated",
      );
    });

    it("creates, reads, lists and updates users with their metadata", async () => {
      const username = uniqueName("crud");
      const created = await ok(
        url,
        `${USERS}/CreateUser`,
        {
          username,
          email: `${username}@example.test`,
          password: PASSWORD,
          emailVerified: true,
          profile: {
            firstName: "Grace",
            lastName: "Hopper",
            middleName: "Brewster",
            phone: "+1 555 0100",
            telegram: "@grace",
            organization: "Navy",
            department: "Computing",
            title: "Rear Admiral",
            links: { links: [{ label: "bio", url: "https://example.test/grace" }] },
          },
        },
        adminToken,
      );
      const id = created.user.id as string;
      expect(created.user).toMatchObject({ username, department: "Computing", links: [{ label: "bio" }] });
      expect((await ok(url, `${USERS}/GetUser`, { userId: id }, adminToken)).user).toMatchObject({
        middleName: "Brewster",
        telegram: "@grace",
      });
      const updated = await ok(
        url,
        `${USERS}/UpdateUser`,
        { userId: id, profile: { phone: "+1 555 0199", title: "", lastName: "Murray Hopper" } },
        adminToken,
      );
      expect(updated.user).toMatchObject({
        phone: "+1 555 0199",
        lastName: "Murray Hopper",
        firstName: "Grace",
      });
      expect(updated.user.title ?? "").toBe("");
      const listed = await ok(url, `${USERS}/ListUsers`, { query: username }, adminToken);
      expect(listed.users.map((user: { id: string }) => user.id)).toEqual([id]);
      await login(username, PASSWORD);
    });

    it("disables a user: sessions end at once and sign-in is refused; soft and hard delete", async () => {
      const user = await signUp();
      const tokens = await login(user.username, PASSWORD);
      await ok(url, `${USERS}/UpdateUser`, { userId: user.id, status: "USER_STATUS_DISABLED" }, adminToken);
      expect((await verifyFails(tokens.accessToken)).code).toBe("unauthenticated");
      expect((await fails(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD })).code).toBe(
        harness.disabledSignInCode,
      );
      await ok(url, `${USERS}/UpdateUser`, { userId: user.id, status: "USER_STATUS_ACTIVE" }, adminToken);
      await login(user.username, PASSWORD);

      await ok(url, `${USERS}/DeleteUser`, { userId: user.id }, adminToken);
      expect((await ok(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).user.status).toBe(
        "USER_STATUS_DISABLED",
      );
      await ok(url, `${USERS}/DeleteUser`, { userId: user.id, hard: true }, adminToken);
      expect((await fails(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).code).toBe("not_found");
      await ok(url, `${USERS}/DeleteUser`, { userId: user.id, hard: true }, adminToken);
      expect((await fails(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD })).code).toBe(
        "unauthenticated",
      );
    });

    it("sets a password as admin (sessions end) and changes one as the user (other sessions end)", async () => {
      const user = await signUp();
      const before = await login(user.username, PASSWORD);
      await ok(
        url,
        `${USERS}/SetUserPassword`,
        { userId: user.id, password: "Second-horse-battery-9" },
        adminToken,
      );
      expect((await verifyFails(before.accessToken)).code).toBe("unauthenticated");
      expect((await fails(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD })).code).toBe(
        "unauthenticated",
      );
      const current = await login(user.username, "Second-horse-battery-9");
      const other = await login(user.username, "Second-horse-battery-9");
      const wrong = await fails(
        url,
        `${AUTH}/ChangePassword`,
        { currentPassword: PASSWORD, newPassword: "Third-horse-battery-9" },
        current.accessToken,
      );
      expect(wrong.code).toBe("unauthenticated");
      await ok(
        url,
        `${AUTH}/ChangePassword`,
        { currentPassword: "Second-horse-battery-9", newPassword: "Third-horse-battery-9" },
        current.accessToken,
      );
      await verify(current.accessToken);
      expect((await verifyFails(other.accessToken)).code).toBe("unauthenticated");
      await login(user.username, "Third-horse-battery-9");
    });

    it("resets a forgotten password through the mailed link; an unknown address is answered the same", async () => {
      const user = await signUp();
      const session = await login(user.username, PASSWORD);
      const unknown = `${uniqueName("ghost")}@example.test`;
      await ok(url, `${AUTH}/ForgotPassword`, { email: user.email });
      await ok(url, `${AUTH}/ForgotPassword`, { email: unknown });
      await harness.resetPassword(gatehouse, user.email, "Reset-horse-battery-9");
      expect(harness.mailCount(unknown)).toBe(0);
      expect((await fails(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD })).code).toBe(
        "unauthenticated",
      );
      await login(user.username, "Reset-horse-battery-9");
      // The session from before the reset goes on only where the provider keeps it (see the harness).
      if (harness.resetEndsSessions)
        expect((await verifyFails(session.accessToken)).code).toBe("unauthenticated");
    });

    it("signs in with TOTP: a challenge answered by VerifyMfa, or the code up front; wrong codes are refused", async () => {
      const user = await harness.mfaUser(gatehouse);
      const challenged = await ok(url, `${AUTH}/Login`, { login: user.login, password: user.password });
      expect(challenged.tokens).toBeUndefined();
      expect(challenged.mfaChallenge.methods).toContain("totp");
      const mfaToken = challenged.mfaChallenge.mfaToken as string;
      expect((await fails(url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: "000000" })).code).toBe(
        "unauthenticated",
      );
      const verified = await ok(url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: user.code() });
      await verify(verified.tokens.accessToken);
      // The challenge is used up.
      expect((await fails(url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: "123456" })).code).toBe(
        "unauthenticated",
      );

      const upFront = await ok(url, `${AUTH}/Login`, {
        login: user.login,
        password: user.password,
        totpCode: user.code(),
      });
      await verify(upFront.tokens.accessToken);
      const wrongUpFront = await fails(url, `${AUTH}/Login`, {
        login: user.login,
        password: user.password,
        totpCode: "000000",
      });
      expect(wrongUpFront.code).toBe("unauthenticated");
      const me = await ok(url, `${AUTH}/GetMe`, {}, upFront.tokens.accessToken);
      expect(me.user.mfaEnabled).toBe(true);
    });

    it("issues client-credentials tokens to service accounts, verified as such; a wrong secret or a scope is refused", async () => {
      const account = await harness.serviceAccount(gatehouse, adminToken);
      const issued = await ok(url, `${AUTH}/ClientCredentialsToken`, {
        clientId: account.clientId,
        clientSecret: account.clientSecret,
      });
      expect(issued.tokens.refreshToken ?? "").toBe("");
      const verified = await verify(issued.tokens.accessToken);
      expect(verified).toMatchObject({ principalKind: "service_account", user: { id: account.id } });
      const wrong = await fails(url, `${AUTH}/ClientCredentialsToken`, {
        clientId: account.clientId,
        clientSecret: "not-the-secret",
      });
      expect(wrong).toMatchObject({ code: "unauthenticated", reason: "invalid_client" });

      // A scope is honoured (Keycloak decides) or refused (built-in provider), never dropped.
      const request = {
        clientId: account.clientId,
        clientSecret: account.clientSecret,
        scope: "orders:read",
      };
      if (harness.name === "keycloak") {
        // Keycloak decides: a scope the client may not have is refused as such, not ignored.
        expect(await fails(url, `${AUTH}/ClientCredentialsToken`, request)).toMatchObject({
          code: "invalid_argument",
          reason: "invalid_scope",
        });
        // A wrong secret is still just that.
        expect(
          await fails(url, `${AUTH}/ClientCredentialsToken`, { ...request, clientSecret: "not-the-secret" }),
        ).toMatchObject({ code: "unauthenticated", reason: "invalid_client" });
      } else {
        expect(await fails(url, `${AUTH}/ClientCredentialsToken`, request)).toMatchObject({
          code: "invalid_argument",
          reason: "scope_not_supported",
        });
      }
    });
  });
}
