import { allowInsecureRequests, Configuration, tokenIntrospection, tokenRevocation } from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalIdentityProvider } from "../../../src/identity/local/local-identity-provider.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";
const ISSUER = "https://id.gatehouse.test";

/** How openid-client reports a 401 with `WWW-Authenticate: Basic … error="invalid_client"`. */
const INVALID_CLIENT = {
  status: 401,
  cause: [{ scheme: "basic", parameters: { error: "invalid_client" } }],
};

/**
 * RFC 7662 introspection and RFC 7009 revocation through openid-client (a
 * certified relying party) against two replicas on PostgreSQL and Redis:
 * what one revokes, the other reports inactive.
 */
describe("OIDC token introspection and revocation (postgres, two replicas)", () => {
  let server: TestGatehouse;
  let replica: TestGatehouse;
  let provider: LocalIdentityProvider;
  let admin: string;
  let appA: { clientId: string; secret: string; id: string };
  let appB: { clientId: string; secret: string; id: string };

  const register = async (extra: Record<string, unknown> = {}) => {
    const created = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      {
        clientId: uniqueName("rp"),
        name: "Relying party",
        type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
        redirectUris: { uris: ["https://rp.example/callback"] },
        scopes: { scopes: ["openid", "offline_access"] },
        ...extra,
      },
      admin,
    );
    return { clientId: created.client.clientId, secret: created.clientSecret, id: created.client.id };
  };

  /** openid-client's view of the provider at `url`, as client `clientId`. */
  const relyingParty = (url: string, clientId: string, secret: string) => {
    const config = new Configuration(
      {
        issuer: ISSUER,
        introspection_endpoint: `${url}/oidc/introspect`,
        revocation_endpoint: `${url}/oidc/revoke`,
      },
      clientId,
      secret,
    );
    allowInsecureRequests(config);
    return config;
  };

  /** A user's session and the tokens client `clientId` got in it (what the token endpoint issues). */
  const clientTokens = async (clientId: string) => {
    const user = await signUpAndLogin(server.url);
    const issued = await provider.issueForClient(
      user.tokens.sessionId,
      { clientId, scope: "openid offline_access", audience: ["gatehouse"] },
      { withRefreshToken: true },
    );
    if (issued === undefined) throw new Error("no live session");
    return { user, accessToken: issued.accessToken, refreshToken: issued.refreshToken };
  };

  const form = (fields: Record<string, string>) => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ISSUER },
      hooks: {
        onLocalProvider: (local) => {
          provider = local;
        },
      },
    });
    replica = await startTestGatehouse({ backend: "postgres", shareWith: server });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    appA = await register();
    appB = await register({ tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_CLIENT_SECRET_POST" });
  });
  afterAll(async () => {
    await replica?.stop();
    await server?.stop();
  });

  it("introspects the client's own access and refresh tokens, as VerifyToken would", async () => {
    const { user, accessToken, refreshToken } = await clientTokens(appA.clientId);
    const rp = relyingParty(server.url, appA.clientId, appA.secret);
    const access = await tokenIntrospection(rp, accessToken);
    expect(access).toMatchObject({
      active: true,
      token_type: "Bearer",
      client_id: appA.clientId,
      sub: user.id,
      username: user.username,
      sid: user.tokens.sessionId,
      scope: "openid offline_access",
      iss: ISSUER,
    });
    expect(access.exp).toBeGreaterThan(Date.now() / 1000);
    const refresh = await tokenIntrospection(
      relyingParty(replica.url, appA.clientId, appA.secret),
      refreshToken,
      {
        token_type_hint: "refresh_token",
      },
    );
    expect(refresh).toMatchObject({
      active: true,
      token_type: "refresh_token",
      client_id: appA.clientId,
      sub: user.id,
      sid: user.tokens.sessionId,
    });
    // client_secret_post works too, and a garbage token is simply inactive.
    const rpB = relyingParty(server.url, appB.clientId, appB.secret);
    expect(await tokenIntrospection(rpB, "not-a-token")).toEqual({ active: false });
  });

  it("answers active:false for another client's token and for Login's own tokens", async () => {
    const { user, accessToken, refreshToken } = await clientTokens(appA.clientId);
    const rpB = relyingParty(server.url, appB.clientId, appB.secret);
    expect(await tokenIntrospection(rpB, accessToken)).toEqual({ active: false });
    expect(await tokenIntrospection(rpB, refreshToken)).toEqual({ active: false });
    const rpA = relyingParty(server.url, appA.clientId, appA.secret);
    expect(await tokenIntrospection(rpA, user.tokens.accessToken)).toEqual({ active: false });
    expect(await tokenIntrospection(rpA, user.tokens.refreshToken)).toEqual({ active: false });
  });

  it("answers active:false once the subject is disabled, on the other replica too", async () => {
    const { user, accessToken, refreshToken } = await clientTokens(appA.clientId);
    const elsewhere = relyingParty(replica.url, appA.clientId, appA.secret);
    expect((await tokenIntrospection(elsewhere, accessToken)).active).toBe(true);
    await ok(server.url, `${USERS}/UpdateUser`, { userId: user.id, status: "USER_STATUS_DISABLED" }, admin);
    await expect.poll(async () => (await tokenIntrospection(elsewhere, accessToken)).active).toBe(false);
    expect(await tokenIntrospection(elsewhere, refreshToken)).toEqual({ active: false });
  });

  it("refuses callers that do not authenticate as a confidential client: 401 invalid_client with WWW-Authenticate", async () => {
    const { accessToken } = await clientTokens(appA.clientId);
    const endpoint = `${server.url}/oidc/introspect`;
    const anonymous = await fetch(endpoint, form({ token: accessToken }));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(await anonymous.json()).toMatchObject({ error: "invalid_client" });
    expect(JSON.stringify(await (await fetch(endpoint, form({ token: accessToken }))).json())).not.toContain(
      appA.clientId,
    );

    const wrongSecret = await fetch(endpoint, {
      ...form({ token: accessToken }),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${appA.clientId}:wrong`).toString("base64")}`,
      },
    });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.headers.get("www-authenticate")).toMatch(/invalid_client/);

    // A public client names itself only: it may not introspect.
    const publicClient = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      { name: "SPA", type: "OIDC_CLIENT_TYPE_PUBLIC", redirectUris: { uris: ["http://localhost:5173/cb"] } },
      admin,
    );
    const asPublic = await fetch(
      endpoint,
      form({ token: accessToken, client_id: publicClient.client.clientId }),
    );
    expect(asPublic.status).toBe(401);
    expect(await asPublic.json()).toMatchObject({ error: "invalid_client" });
    expect((await fetch(endpoint)).status).toBe(405);
  });

  it("a rotated secret fails at once; a disabled client is refused", async () => {
    const app = await register();
    const { accessToken } = await clientTokens(app.clientId);
    const rotated = await ok(server.url, `${REGISTRY}/RotateOidcClientSecret`, { id: app.id }, admin);
    await expect(
      tokenIntrospection(relyingParty(replica.url, app.clientId, app.secret), accessToken),
    ).rejects.toMatchObject(INVALID_CLIENT);
    expect(
      await tokenIntrospection(relyingParty(replica.url, app.clientId, rotated.clientSecret), accessToken),
    ).toMatchObject({
      active: true,
    });
    await ok(server.url, `${REGISTRY}/UpdateOidcClient`, { id: app.id, disabled: true }, admin);
    await expect(
      tokenIntrospection(relyingParty(replica.url, app.clientId, rotated.clientSecret), accessToken),
    ).rejects.toMatchObject(INVALID_CLIENT);
  });

  it("revokes an access token: inactive on the other replica, and VerifyToken there denies it", async () => {
    const { accessToken, refreshToken } = await clientTokens(appA.clientId);
    await tokenRevocation(relyingParty(server.url, appA.clientId, appA.secret), accessToken, {
      token_type_hint: "access_token",
    });
    const elsewhere = relyingParty(replica.url, appA.clientId, appA.secret);
    await expect.poll(async () => (await tokenIntrospection(elsewhere, accessToken)).active).toBe(false);
    expect(await fails(replica.url, `${AUTH}/VerifyToken`, { token: accessToken })).toMatchObject({
      code: "unauthenticated",
    });
    // The session goes on: only that token was revoked.
    expect((await tokenIntrospection(elsewhere, refreshToken)).active).toBe(true);
  });

  it("revokes a refresh token: the whole session ends on every replica", async () => {
    const { user, accessToken, refreshToken } = await clientTokens(appA.clientId);
    await tokenRevocation(relyingParty(server.url, appA.clientId, appA.secret), refreshToken);
    const elsewhere = relyingParty(replica.url, appA.clientId, appA.secret);
    expect(await tokenIntrospection(elsewhere, refreshToken)).toEqual({ active: false });
    await expect.poll(async () => (await tokenIntrospection(elsewhere, accessToken)).active).toBe(false);
    // Login's tokens of the same session end with it.
    expect(await fails(replica.url, `${AUTH}/VerifyToken`, { token: user.tokens.accessToken })).toMatchObject(
      {
        code: "unauthenticated",
      },
    );
    expect(
      await fails(replica.url, `${AUTH}/Refresh`, { refreshToken: user.tokens.refreshToken }),
    ).toMatchObject({
      code: "unauthenticated",
    });
  });

  it("answers 200 for unknown tokens, refuses another client's, and lets a public client revoke its own", async () => {
    const rpA = relyingParty(server.url, appA.clientId, appA.secret);
    await tokenRevocation(rpA, "unknown-token-value");
    await tokenRevocation(rpA, "a.b.c");
    const { accessToken, refreshToken } = await clientTokens(appA.clientId);
    const rpB = relyingParty(server.url, appB.clientId, appB.secret);
    await expect(tokenRevocation(rpB, refreshToken)).rejects.toMatchObject({ error: "invalid_request" });
    await expect(tokenRevocation(rpB, accessToken)).rejects.toMatchObject({ error: "invalid_request" });
    expect((await tokenIntrospection(rpA, refreshToken)).active).toBe(true);
    expect((await tokenIntrospection(rpA, accessToken)).active).toBe(true);
    const anonymous = await fetch(`${server.url}/oidc/revoke`, form({ token: refreshToken }));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);

    const spa = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      {
        name: "SPA",
        type: "OIDC_CLIENT_TYPE_PUBLIC",
        redirectUris: { uris: ["http://localhost:5173/cb"] },
        scopes: { scopes: ["openid", "offline_access"] },
      },
      admin,
    );
    const spaTokens = await clientTokens(spa.client.clientId);
    const revoked = await fetch(
      `${server.url}/oidc/revoke`,
      form({ token: spaTokens.refreshToken, client_id: spa.client.clientId }),
    );
    expect(revoked.status).toBe(200);
    expect((await tokenIntrospection(rpA, spaTokens.refreshToken)).active).toBe(false);
    expect(
      await fails(replica.url, `${AUTH}/Refresh`, { refreshToken: spaTokens.user.tokens.refreshToken }),
    ).toMatchObject({
      code: "unauthenticated",
    });
  });
});
