import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import {
  createTestRealm,
  ensureKeycloak,
  type KeycloakInstance,
  stopKeycloak,
  type TestRealm,
} from "../../support/keycloak.ts";

/**
 * Its own Keycloak (keycloak.sh KEYCLOAK_INSTANCE=outage, on other ports), so
 * that stopping it mid-test leaves the shared server other suites use alone.
 */
const INSTANCE: KeycloakInstance = { name: "outage", port: 8181, managementPort: 9181 };
const PASSWORD = "Correct-horse-battery-9";

describe("Keycloak stopped mid-test", () => {
  let realm: TestRealm;
  let gatehouse: TestGatehouse;
  let url: string;
  let adminToken: string;
  let user: { id: string; username: string };
  let verifiedBefore: TokenSet;
  let neverVerified: TokenSet;

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak(INSTANCE));
    gatehouse = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_TIMEOUT_MS: "2000" },
    });
    url = gatehouse.url;
    adminToken = (
      await ok(url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    const username = uniqueName("steady");
    const created = await ok(
      url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "Steady", lastName: "State", phone: "+1 555 0100" },
      },
      adminToken,
    );
    user = { id: created.user.id, username };
    verifiedBefore = (await ok(url, `${AUTH}/Login`, { login: username, password: PASSWORD })).tokens;
    await ok(url, `${AUTH}/VerifyToken`, { token: verifiedBefore.accessToken });
    neverVerified = (await ok(url, `${AUTH}/Login`, { login: username, password: PASSWORD })).tokens;

    await stopKeycloak(INSTANCE);
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await stopKeycloak(INSTANCE);
  });

  it("still verifies tokens already issued, from the cached JWKS", async () => {
    await ok(url, `${AUTH}/VerifyToken`, { token: verifiedBefore.accessToken });
    // Never seen before the outage: its signature is checked with the keys fetched earlier.
    const verified = await ok(url, `${AUTH}/VerifyToken`, { token: neverVerified.accessToken });
    expect(verified.user.id).toBe(user.id);
    expect((await ok(url, `${AUTH}/GetMe`, {}, neverVerified.accessToken)).user.phone).toBe("+1 555 0100");
  });

  it("answers UNAVAILABLE for what needs Keycloak: sign-in, refresh, logout, sync", async () => {
    const expectUnavailable = async (procedure: string, body: unknown, token?: string) => {
      const failure = await fails(url, procedure, body, token);
      expect(failure, procedure).toMatchObject({
        code: "unavailable",
        reason: "identity_provider_unavailable",
      });
    };
    await expectUnavailable(`${AUTH}/Login`, { login: user.username, password: PASSWORD });
    await expectUnavailable(`${AUTH}/Refresh`, { refreshToken: neverVerified.refreshToken });
    await expectUnavailable(`${AUTH}/Logout`, { refreshToken: verifiedBefore.refreshToken });
    await expectUnavailable(`${USERS}/SyncFromKeycloak`, {}, adminToken);
    await expectUnavailable(`${USERS}/GetSyncStatus`, { includeDrift: true }, adminToken);
    expect((await ok(url, `${USERS}/GetSyncStatus`, {}, adminToken)).driftComputed ?? false).toBe(false);
    // ForgotPassword cannot have Keycloak send the mail: UNAVAILABLE, for a known and an unknown address alike.
    await expectUnavailable(`${AUTH}/ForgotPassword`, { email: `${user.username}@example.test` });
    await expectUnavailable(`${AUTH}/ForgotPassword`, { email: `nobody-${user.username}@example.test` });
  });

  it("writes nothing locally when Keycloak, written first, is down", async () => {
    const expectUnavailable = async (procedure: string, body: unknown) => {
      expect((await fails(url, procedure, body, adminToken)).code, procedure).toBe("unavailable");
    };
    const username = uniqueName("never");
    await expectUnavailable(`${USERS}/CreateUser`, {
      username,
      email: `${username}@example.test`,
      password: PASSWORD,
      profile: { firstName: "Never", lastName: "Made" },
    });
    expect((await ok(url, `${USERS}/ListUsers`, { query: username }, adminToken)).users ?? []).toEqual([]);

    await expectUnavailable(`${USERS}/UpdateUser`, { userId: user.id, profile: { phone: "+1 555 0199" } });
    await expectUnavailable(`${USERS}/DeleteUser`, { userId: user.id });
    await expectUnavailable(`${USERS}/SetUserPassword`, {
      userId: user.id,
      password: "Another-horse-battery-9",
    });
    const unchanged = (await ok(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).user;
    expect(unchanged).toMatchObject({ phone: "+1 555 0100", status: "USER_STATUS_ACTIVE" });
  });
});
