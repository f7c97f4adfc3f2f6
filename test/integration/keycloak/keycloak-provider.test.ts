import { randomBytes } from "node:crypto";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessServices } from "../../../src/compose/domain-services.ts";
import { createIdentity, type Identity } from "../../../src/compose/identity.ts";
import { createRepositories } from "../../../src/compose/storage.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { IGNORE_ACCESS_CHANGES } from "../../../src/domain/ports/access-changes.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { Metrics } from "../../../src/observability/metrics.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  ok,
  startMailCatcher,
  TEST_ADMIN,
  type TokenSet,
  USERS,
  uniqueName,
} from "../../support/identity.ts";
import {
  createTestRealm,
  ensureKeycloak,
  freshKeycloakTotp,
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  type TestRealm,
} from "../../support/keycloak.ts";

const PASSWORD = "Correct-horse-battery-9";
const REGISTRY = "gatehouse.v1.ServiceRegistryService";

/** Keycloak-specific behaviour of IDENTITY_PROVIDER=keycloak, on PostgreSQL and Redis. */
describe("Keycloak identity provider", () => {
  let keycloakUrl: string;
  let realm: TestRealm;
  let catcher: Awaited<ReturnType<typeof startMailCatcher>>;
  let gatehouse: TestGatehouse;
  let url: string;
  let adminToken: string;

  beforeAll(async () => {
    keycloakUrl = await ensureKeycloak();
    catcher = await startMailCatcher();
    realm = await createTestRealm(keycloakUrl, { smtpPort: Number(new URL(catcher.url).port) });
    gatehouse = await startTestGatehouse({ backend: "postgres", env: { ...IDENTITY_ENV, ...realm.env } });
    url = gatehouse.url;
    adminToken = (await login(TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await realm?.delete();
    await catcher?.close();
  });

  async function login(loginName: string, password: string, totpCode?: string): Promise<TokenSet> {
    const response = await ok(url, `${AUTH}/Login`, { login: loginName, password, totpCode });
    if (response.tokens === undefined) throw new Error(`no tokens: ${JSON.stringify(response)}`);
    return response.tokens;
  }

  const keycloakUser = async (id: string) => (await realm.admin("GET", `/users/${id}`)).body;

  /** A password grant straight at Keycloak, as a client other than Gatehouse's API would do. */
  async function keycloakGrant(body: Record<string, string>, realmName = realm.name) {
    const response = await fetch(`${keycloakUrl}/realms/${realmName}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        ...body,
      }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; refresh_token: string; session_state: string };
  }

  async function createUser(profile: Record<string, unknown> = {}) {
    const username = uniqueName("kc");
    const response = await ok(
      url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "Katherine", lastName: "Johnson", ...profile },
      },
      adminToken,
    );
    return response.user as { id: string; externalId: string; username: string; email: string };
  }

  it("mirrors metadata into Keycloak attributes and keeps everything else on a partial update", async () => {
    const user = await createUser({
      middleName: "Coleman",
      phone: "+1 555 0100",
      telegram: "@katherine",
      organization: "NASA",
      department: "Flight Research",
      title: "Mathematician",
      links: { links: [{ label: "orbit | notes", url: "https://example.test/orbits" }] },
    });
    expect(user.externalId).toMatch(/^[0-9a-f-]{36}$/);
    const created = await keycloakUser(user.externalId);
    expect(created).toMatchObject({ username: user.username, firstName: "Katherine", lastName: "Johnson" });
    expect(created.attributes).toMatchObject({
      middle_name: ["Coleman"],
      phone: ["+1 555 0100"],
      telegram: ["@katherine"],
      organization: ["NASA"],
      department: ["Flight Research"],
      title: ["Mathematician"],
    });
    expect(JSON.parse(created.attributes.links[0])).toEqual({
      label: "orbit | notes",
      url: "https://example.test/orbits",
    });

    // Someone adds an attribute in Keycloak itself; Gatehouse's updates must keep it (and email and names).
    const { access: _access, ...representation } = created;
    await realm.admin("PUT", `/users/${user.externalId}`, {
      ...representation,
      attributes: { ...created.attributes, costCenter: ["42"] },
    });
    await ok(
      url,
      `${USERS}/UpdateUser`,
      { userId: user.id, profile: { phone: "+1 555 0199", title: "" } },
      adminToken,
    );
    const updated = await keycloakUser(user.externalId);
    expect(updated).toMatchObject({ email: user.email, firstName: "Katherine", lastName: "Johnson" });
    expect(updated.attributes.phone).toEqual(["+1 555 0199"]);
    expect(updated.attributes.title).toBeUndefined();
    expect(updated.attributes.costCenter).toEqual(["42"]);
    expect(updated.attributes.organization).toEqual(["NASA"]);

    const tokens = await login(user.username, PASSWORD);
    await ok(
      url,
      `${AUTH}/UpdateMe`,
      { changes: { department: "Analysis", firstName: "Kat" } },
      tokens.accessToken,
    );
    expect(await keycloakUser(user.externalId)).toMatchObject({
      firstName: "Kat",
      attributes: { department: ["Analysis"], costCenter: ["42"] },
    });
  });

  it("refuses a username change (read-only in the realm) and writes nothing locally", async () => {
    const user = await createUser();
    const refused = await fails(
      url,
      `${USERS}/UpdateUser`,
      { userId: user.id, username: uniqueName("new") },
      adminToken,
    );
    expect(refused).toMatchObject({ code: "failed_precondition", reason: "field_read_only" });
    expect((await ok(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).user.username).toBe(
      user.username,
    );
  });

  it("imports a Keycloak-only user at first sign-in, and at the first token Keycloak issued elsewhere", async () => {
    const username = uniqueName("native");
    const externalId = await realm.createUser({
      username,
      email: `${username}@example.test`,
      password: PASSWORD,
      firstName: "Dorothy",
      lastName: "Vaughan",
      attributes: {
        department: ["West Computing"],
        links: ['{"label":"team","url":"https://example.test/west"}'],
      },
    });
    const tokens = await login(username, PASSWORD);
    const me = await ok(url, `${AUTH}/GetMe`, {}, tokens.accessToken);
    expect(me.user).toMatchObject({
      username,
      externalId,
      firstName: "Dorothy",
      department: "West Computing",
      links: [{ label: "team", url: "https://example.test/west" }],
      roles: ["user"],
    });
    expect(me.user.id).not.toBe(externalId);
    // The token's subject is Keycloak's id; Gatehouse's principal is its own id.
    expect(decodeJwt(tokens.accessToken).sub).toBe(externalId);

    const other = uniqueName("elsewhere");
    const otherId = await realm.createUser({
      username: other,
      email: `${other}@example.test`,
      password: PASSWORD,
    });
    const direct = await keycloakGrant({ grant_type: "password", username: other, password: PASSWORD });
    const verified = await ok(url, `${AUTH}/VerifyToken`, { token: direct.access_token });
    expect(verified).toMatchObject({ principalKind: "user", user: { username: other, externalId: otherId } });
    expect(verified.user.id).not.toBe(otherId);
    expect(
      (await ok(url, `${USERS}/GetUser`, { userId: verified.user.id }, adminToken)).user.externalId,
    ).toBe(otherId);
  });

  it("syncs the user's record from Keycloak at every sign-in; a user disabled there is disabled here", async () => {
    const user = await createUser();
    const current = await keycloakUser(user.externalId);
    const { access: _access, ...representation } = current;
    await realm.admin("PUT", `/users/${user.externalId}`, { ...representation, firstName: "Renamed" });
    const tokens = await login(user.username, PASSWORD);
    expect((await ok(url, `${AUTH}/GetMe`, {}, tokens.accessToken)).user.firstName).toBe("Renamed");

    await realm.admin("PUT", `/users/${user.externalId}`, {
      ...representation,
      firstName: "Renamed",
      enabled: false,
    });
    const refused = await fails(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD });
    expect(refused).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    expect((await ok(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).user.status).toBe(
      "USER_STATUS_DISABLED",
    );
    expect((await fails(url, `${AUTH}/VerifyToken`, { token: tokens.accessToken })).code).toBe(
      "unauthenticated",
    );
  });

  it("refuses tokens that are not this realm's access tokens", async () => {
    const user = await createUser();
    const tokens = await login(user.username, PASSWORD);
    const verifyFails = (token: string) => fails(url, `${AUTH}/VerifyToken`, { token });

    // Keycloak's refresh tokens are HS512: the algorithm is refused before any key is looked up.
    expect(await verifyFails(tokens.refreshToken)).toMatchObject({
      code: "unauthenticated",
      reason: "unsupported_algorithm",
    });
    const [header, payload, signature] = tokens.accessToken.split(".");
    const flipped = `${signature!.slice(0, -4)}${signature!.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    expect((await verifyFails(`${header}.${payload}.${flipped}`)).reason).toBe("invalid_signature");
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    expect((await verifyFails(`${none}.${payload}.`)).reason).toBe("unsupported_algorithm");
    expect(decodeProtectedHeader(tokens.accessToken).alg).toBe("RS256");

    // The same Keycloak, another realm: the issuer differs.
    const otherRealm = await createTestRealm(keycloakUrl);
    try {
      const stranger = uniqueName("stranger");
      await otherRealm.createUser({
        username: stranger,
        email: `${stranger}@example.test`,
        password: PASSWORD,
      });
      const foreign = await keycloakGrant(
        { grant_type: "password", username: stranger, password: PASSWORD },
        otherRealm.name,
      );
      expect((await verifyFails(foreign.access_token)).reason).toBe("wrong_issuer");
    } finally {
      await otherRealm.delete();
    }

    // A client-credentials token of a Keycloak client that is no Gatehouse service account.
    const unregistered = await keycloakGrant({ grant_type: "client_credentials" });
    expect((await verifyFails(unregistered.access_token)).reason).toBe("unknown_service_account");
  });

  it("refuses client credentials for a Keycloak client that is disabled as a Gatehouse service account", async () => {
    const account = await ok(
      url,
      `${REGISTRY}/CreateServiceAccount`,
      { name: KEYCLOAK_CLIENT_ID },
      adminToken,
    );
    const issued = await ok(url, `${AUTH}/ClientCredentialsToken`, {
      clientId: KEYCLOAK_CLIENT_ID,
      clientSecret: KEYCLOAK_CLIENT_SECRET,
    });
    expect((await ok(url, `${AUTH}/VerifyToken`, { token: issued.tokens.accessToken })).user.id).toBe(
      account.serviceAccount.id,
    );
    await ok(
      url,
      `${REGISTRY}/UpdateServiceAccount`,
      { serviceAccountId: account.serviceAccount.id, disabled: true },
      adminToken,
    );
    const refused = await fails(url, `${AUTH}/ClientCredentialsToken`, {
      clientId: KEYCLOAK_CLIENT_ID,
      clientSecret: KEYCLOAK_CLIENT_SECRET,
    });
    expect(refused).toMatchObject({ code: "unauthenticated", reason: "invalid_client" });
    expect((await fails(url, `${AUTH}/VerifyToken`, { token: issued.tokens.accessToken })).code).toBe(
      "unauthenticated",
    );
  });

  it("leaves TOTP enrolment and recovery codes to Keycloak, and mails the CONFIGURE_TOTP action", async () => {
    const user = await createUser();
    const tokens = await login(user.username, PASSWORD);
    const enroll = await fails(url, `${AUTH}/EnrollTotp`, {}, tokens.accessToken);
    expect(enroll).toMatchObject({ code: "failed_precondition", reason: "totp_managed_by_keycloak" });
    const mail = await catcher.waitFor((m) => m.to.includes(user.email) && m.text.includes("action-token"));
    expect(mail.raw).toMatch(/noreply@gatehouse\.local/);
    expect((await fails(url, `${AUTH}/ConfirmTotp`, { code: "123456" }, tokens.accessToken)).code).toBe(
      "failed_precondition",
    );
    const codes = await fails(
      url,
      `${AUTH}/RegenerateRecoveryCodes`,
      { password: PASSWORD },
      tokens.accessToken,
    );
    expect(codes).toMatchObject({ code: "failed_precondition", reason: "recovery_codes_unsupported" });
  });

  it("reports OTP from Keycloak; DisableTotp cannot re-check an OTP user's password there", async () => {
    const username = uniqueName("otp");
    const otpSecret = randomBytes(20).toString("hex");
    await realm.createUser({ username, email: `${username}@example.test`, password: PASSWORD, otpSecret });
    const tokens = await login(username, PASSWORD, freshKeycloakTotp(otpSecret, new Set()));
    expect((await ok(url, `${AUTH}/GetMe`, {}, tokens.accessToken)).user.mfaEnabled).toBe(true);
    const challenge = await ok(url, `${AUTH}/Login`, { login: username, password: PASSWORD });
    const recovery = await fails(url, `${AUTH}/VerifyMfa`, {
      mfaToken: challenge.mfaChallenge.mfaToken,
      recoveryCode: "abcde-fghij",
    });
    expect(recovery).toMatchObject({ code: "failed_precondition", reason: "recovery_codes_unsupported" });
    const disable = await fails(
      url,
      `${AUTH}/DisableTotp`,
      { password: PASSWORD, totpCode: "123456" },
      tokens.accessToken,
    );
    expect(disable).toMatchObject({ code: "failed_precondition", reason: "password_check_needs_otp" });
  });

  it("answers MFA sign-in for a wrong password only at VerifyMfa, where Keycloak checks both", async () => {
    const username = uniqueName("otp");
    const otpSecret = randomBytes(20).toString("hex");
    await realm.createUser({ username, email: `${username}@example.test`, password: PASSWORD, otpSecret });
    const challenge = await ok(url, `${AUTH}/Login`, { login: username, password: "Wrong-password-1" });
    const answer = await fails(url, `${AUTH}/VerifyMfa`, {
      mfaToken: challenge.mfaChallenge.mfaToken,
      totpCode: freshKeycloakTotp(otpSecret, new Set()),
    });
    expect(answer.code).toBe("unauthenticated");
  });

  describe("sessions and OTP through the provider", () => {
    let module: Identity;

    beforeAll(async () => {
      // A second provider on the same database and realm, as another replica would be.
      const config = loadConfig({ ...gatehouse.env, ...realm.env, KEYCLOAK_REALM: realm.name });
      const logger = createLogger("silent");
      const repositories = createRepositories(gatehouse.gatehouse.dataSource, config.database);
      module = await createIdentity({
        config,
        logger,
        repositories,
        store: gatehouse.gatehouse.store,
        revocations: {
          async revokeSession() {},
          async revokeToken() {},
          async revokeSubjectTokensIssuedBefore() {},
          async revocationReason() {
            return undefined;
          },
        },
        ...createAccessServices(repositories, logger),
        changes: IGNORE_ACCESS_CHANGES,
        metrics: new Metrics(),
      });
    });
    afterAll(async () => {
      await module?.provider.close();
    });

    it("lists a user's Keycloak sessions, finds one by id, and ends one or all", async () => {
      const user = await createUser();
      const first = await login(user.username, PASSWORD);
      const second = await login(user.username, PASSWORD);
      const sessions = await module.provider.listSessions(user.id);
      expect(sessions.map((session) => session.id).sort()).toEqual(
        [first.sessionId, second.sessionId].sort(),
      );
      expect(sessions[0]).toMatchObject({
        userId: user.id,
        clientId: KEYCLOAK_CLIENT_ID,
        ipAddress: "127.0.0.1",
      });
      expect(sessions[0]!.expiresAt.getTime()).toBeGreaterThan(sessions[0]!.startedAt.getTime());
      expect(await module.provider.getSession(first.sessionId)).toMatchObject({
        id: first.sessionId,
        userId: user.id,
      });

      expect(await module.provider.endSession({ sessionId: first.sessionId }, "test")).toEqual({
        sessionId: first.sessionId,
        userId: user.id,
      });
      expect((await module.provider.listSessions(user.id)).map((session) => session.id)).toEqual([
        second.sessionId,
      ]);
      expect(await module.provider.endSession({ sessionId: first.sessionId }, "test")).toBeUndefined();
      expect((await fails(url, `${AUTH}/Refresh`, { refreshToken: first.refreshToken })).code).toBe(
        "unauthenticated",
      );

      await login(user.username, PASSWORD);
      expect(await module.provider.endUserSessions(user.id, "test")).toBe(2);
      expect(await module.provider.listSessions(user.id)).toEqual([]);
      expect((await realm.admin("GET", `/users/${user.externalId}/sessions`)).body).toEqual([]);
    });

    it("removes a user's OTP credential in Keycloak and clears the local MFA flag", async () => {
      const username = uniqueName("otp");
      const otpSecret = randomBytes(20).toString("hex");
      const externalId = await realm.createUser({
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        otpSecret,
      });
      const tokens = await login(username, PASSWORD, freshKeycloakTotp(otpSecret, new Set()));
      const me = (await ok(url, `${AUTH}/GetMe`, {}, tokens.accessToken)).user;
      expect(me.mfaEnabled).toBe(true);
      await module.provider.disableTotp({ id: me.id, externalId, username, email: me.email });
      const credentials = (await realm.admin("GET", `/users/${externalId}/credentials`)).body as Array<{
        type: string;
      }>;
      expect(credentials.map((credential) => credential.type)).toEqual(["password"]);
      expect(
        (await ok(url, `${USERS}/GetUser`, { userId: me.id }, adminToken)).user.mfaEnabled ?? false,
      ).toBe(false);
      await login(username, PASSWORD);
    });
  });
});

describe("Keycloak introspection mode", () => {
  let realm: TestRealm;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    gatehouse = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_VERIFY_MODE: "introspection" },
    });
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await realm?.delete();
  });

  it("asks Keycloak: a session ended in Keycloak itself refuses its tokens at once", async () => {
    const tokens = (
      await ok(gatehouse.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens as TokenSet;
    const unused = (
      await ok(gatehouse.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens as TokenSet;
    await ok(gatehouse.url, `${AUTH}/VerifyToken`, { token: tokens.accessToken });
    // Ended in Keycloak's admin console, not through Gatehouse.
    expect((await realm.admin("DELETE", `/sessions/${unused.sessionId}`)).status).toBe(204);
    const refused = await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: unused.accessToken });
    expect(refused).toMatchObject({ code: "unauthenticated", reason: "token_inactive" });
  });
});
