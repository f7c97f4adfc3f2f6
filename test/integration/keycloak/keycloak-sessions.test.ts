import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, ok, TEST_ADMIN, USERS, uniqueName } from "../../support/identity.ts";
import {
  createTestRealm,
  ensureKeycloak,
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  type TestRealm,
} from "../../support/keycloak.ts";
import { authorizationCodeTokens } from "../../support/keycloak-login-form.ts";

const PASSWORD = "Correct-horse-battery-9";
const VAULT = "gatehouse.v1.TokenVaultService";
const WEB_CLIENT = "gatehouse-web";

type Kind = { client: "web" | "backend"; offline: boolean };
const KINDS: readonly Kind[] = [
  { client: "web", offline: false },
  { client: "web", offline: true },
  { client: "backend", offline: false },
  { client: "backend", offline: true },
];
const nameOf = (kind: Kind) =>
  `${kind.client === "web" ? WEB_CLIENT : KEYCLOAK_CLIENT_ID} ${kind.offline ? "offline" : "online"}`;

/**
 * Logout, RevokeSession and ListSessions with every session kind of both
 * realm clients: the browser client's tokens come from the real authorization
 * code flow (Keycloak's login form, PKCE), the backend client's from
 * Gatehouse's Login and Keycloak's password grant with offline_access; what
 * ended is confirmed by Keycloak's admin API, never by Gatehouse.
 */
describe("Keycloak sessions of every client and kind", () => {
  let realm: TestRealm;
  let gatehouse: TestGatehouse;
  let admin: string;
  const clientUuids = new Map<string, string>();

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    gatehouse = await startTestGatehouse({ backend: "postgres", env: { ...IDENTITY_ENV, ...realm.env } });
    admin = (
      await ok(gatehouse.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    for (const clientId of [WEB_CLIENT, KEYCLOAK_CLIENT_ID])
      clientUuids.set(clientId, (await realm.admin("GET", `/clients?clientId=${clientId}`)).body[0].id);
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await realm?.delete();
  });

  async function newUser() {
    const username = uniqueName("ses");
    const { user } = await ok(
      gatehouse.url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "S", lastName: "K" },
      },
      admin,
    );
    return { id: user.id as string, externalId: user.externalId as string, username };
  }

  /** A session of this kind: its refresh (or offline) token, access token and id. */
  async function sessionOf(user: { username: string }, kind: Kind) {
    const scope = kind.offline ? "openid offline_access" : "openid";
    if (kind.client === "web") {
      const tokens = await authorizationCodeTokens({
        issuer: realm.issuer,
        clientId: WEB_CLIENT,
        redirectUri: "http://localhost:5999/callback",
        username: user.username,
        password: PASSWORD,
        scope,
      });
      return { ...tokens, sessionId: String(decodeJwt(tokens.accessToken).sid) };
    }
    if (!kind.offline) {
      const { tokens } = await ok(gatehouse.url, `${AUTH}/Login`, {
        login: user.username,
        password: PASSWORD,
      });
      return {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        sessionId: tokens.sessionId,
      };
    }
    const response = await fetch(`${realm.issuer}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        username: user.username,
        password: PASSWORD,
        scope,
      }),
    });
    const body = (await response.json()) as { access_token: string; refresh_token: string };
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      sessionId: String(decodeJwt(body.access_token).sid),
    };
  }

  /** Keycloak's admin API: whether the session of this kind still exists. */
  async function keycloakHas(user: { externalId: string }, kind: Kind, sessionId: string): Promise<boolean> {
    const clientId = kind.client === "web" ? WEB_CLIENT : KEYCLOAK_CLIENT_ID;
    const path = kind.offline
      ? `/users/${user.externalId}/offline-sessions/${clientUuids.get(clientId)}`
      : `/users/${user.externalId}/sessions`;
    const { status, body } = await realm.admin("GET", path);
    expect(status).toBe(200);
    return (body as Array<{ id: string }>).some((session) => session.id === sessionId);
  }

  const verifies = async (token: string) =>
    (await postJson(gatehouse.url, `${AUTH}/VerifyToken`, { token })).status === 200;

  for (const kind of KINDS) {
    it(`Logout with a refresh token of ${nameOf(kind)} ends that session in Keycloak`, async () => {
      const user = await newUser();
      const session = await sessionOf(user, kind);
      expect(await keycloakHas(user, kind, session.sessionId)).toBe(true);
      expect(await verifies(session.accessToken)).toBe(true);
      const started = performance.now();
      await ok(gatehouse.url, `${AUTH}/Logout`, { refreshToken: session.refreshToken });
      const ms = performance.now() - started;
      expect(await keycloakHas(user, kind, session.sessionId)).toBe(false);
      expect(await verifies(session.accessToken)).toBe(false);
      console.info(`Logout, ${nameOf(kind)} session: ended in Keycloak, answered in ${ms.toFixed(0)} ms`);
    });

    it(`RevokeSession ends a ${nameOf(kind)} session in Keycloak`, async () => {
      const user = await newUser();
      const session = await sessionOf(user, kind);
      expect(await keycloakHas(user, kind, session.sessionId)).toBe(true);
      const started = performance.now();
      await ok(
        gatehouse.url,
        `${VAULT}/RevokeSession`,
        { userId: user.id, sessionId: session.sessionId },
        admin,
      );
      const ms = performance.now() - started;
      expect(await keycloakHas(user, kind, session.sessionId)).toBe(false);
      expect(await verifies(session.accessToken)).toBe(false);
      console.info(
        `RevokeSession, ${nameOf(kind)} session: ended in Keycloak, answered in ${ms.toFixed(0)} ms`,
      );
    });
  }

  it("ListSessions lists online and offline sessions of both clients", async () => {
    const user = await newUser();
    const sessions = [];
    for (const kind of KINDS) sessions.push(await sessionOf(user, kind));
    const { sessions: listed } = await ok(gatehouse.url, `${VAULT}/ListSessions`, { userId: user.id }, admin);
    for (const [index, kind] of KINDS.entries()) {
      const clientId = kind.client === "web" ? WEB_CLIENT : KEYCLOAK_CLIENT_ID;
      expect(listed).toContainEqual(
        expect.objectContaining({
          id: sessions[index]!.sessionId,
          offline: kind.offline,
          clients: expect.arrayContaining([clientId]),
        }),
      );
    }
  });

  it("Logout with a token that is no longer active is idempotent, and RevokeSession of an unknown session changes nothing", async () => {
    const user = await newUser();
    const session = await sessionOf(user, { client: "web", offline: false });
    await ok(gatehouse.url, `${AUTH}/Logout`, { refreshToken: session.refreshToken });
    await ok(gatehouse.url, `${AUTH}/Logout`, { refreshToken: session.refreshToken });
    const other = await sessionOf(user, { client: "web", offline: true });
    await ok(
      gatehouse.url,
      `${VAULT}/RevokeSession`,
      { userId: user.id, sessionId: "no-such-session" },
      admin,
    );
    expect(await keycloakHas(user, { client: "web", offline: true }, other.sessionId)).toBe(true);
  });

  it("a forged token naming someone's session ends nothing, and a token of a client Gatehouse does not manage is refused", async () => {
    const user = await newUser();
    const victim = await sessionOf(user, { client: "web", offline: false });
    const forge = (claims: Record<string, unknown>) =>
      [
        { alg: "HS512", typ: "JWT" },
        { typ: "Refresh", sub: user.externalId, ...claims },
      ]
        .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
        .concat("c2lnbmF0dXJl")
        .join(".");
    // Keycloak checks the token at its logout endpoint: a forgery with the victim's sid is refused there.
    await ok(gatehouse.url, `${AUTH}/Logout`, {
      refreshToken: forge({ azp: WEB_CLIENT, sid: victim.sessionId }),
    });
    expect(await keycloakHas(user, { client: "web", offline: false }, victim.sessionId)).toBe(true);
    expect(await verifies(victim.accessToken)).toBe(true);

    const refused = await postJson(gatehouse.url, `${AUTH}/Logout`, {
      refreshToken: forge({ azp: "another-client", sid: victim.sessionId }),
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("untrusted_client");
    expect(await keycloakHas(user, { client: "web", offline: false }, victim.sessionId)).toBe(true);
  });

  it("Refresh rotates a browser-client refresh token as that client; the spent token is then reuse and ends the session", async () => {
    const user = await newUser();
    const session = await sessionOf(user, { client: "web", offline: false });
    const { tokens } = await ok(gatehouse.url, `${AUTH}/Refresh`, { refreshToken: session.refreshToken });
    expect(decodeJwt(tokens.accessToken).azp).toBe(WEB_CLIENT);
    expect(tokens.refreshToken).not.toBe(session.refreshToken);
    expect(await verifies(tokens.accessToken)).toBe(true);
    const replayed = await postJson(gatehouse.url, `${AUTH}/Refresh`, { refreshToken: session.refreshToken });
    expect(replayed.status).toBe(401);
    expect(JSON.stringify(replayed.body)).toContain("refresh_token_reused");
    expect(await keycloakHas(user, { client: "web", offline: false }, session.sessionId)).toBe(false);
    expect(await verifies(tokens.accessToken)).toBe(false);
  });

  it("Refresh refuses a token of a client Gatehouse does not manage, and spends nothing", async () => {
    const forged = [
      { alg: "HS512", typ: "JWT" },
      { typ: "Refresh", azp: "another-client", sid: "s" },
    ]
      .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
      .concat("c2lnbmF0dXJl")
      .join(".");
    const refused = await postJson(gatehouse.url, `${AUTH}/Refresh`, { refreshToken: forged });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("untrusted_client");
  });
});
