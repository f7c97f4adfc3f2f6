import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import { type GatehouseProcess, startGatehouseProcess } from "../../../harness/gatehouse-process.ts";
import { createService, setGrants } from "../../support/fixtures.ts";
import { authorizationClient, checkStatus, type grpc } from "../../support/grpc-stubs.ts";
import {
  AUTH,
  fails,
  freshTotpCode,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
} from "../../support/identity.ts";
import { HttpBrowser, registerClient } from "../../support/oidc-browser.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../../support/services.ts";

const REDIRECT = "http://127.0.0.1:9/callback";

/**
 * Issue #13's "done when": openid-client discovers the built-in provider and
 * completes the authorization code flow with PKCE through the hosted pages
 * (sign-in, then the TOTP step), verifies the ID token, calls UserInfo,
 * refreshes, introspects, revokes, and ends the session through end_session_endpoint; then
 * VerifyToken and Check on ANOTHER replica (a second process on the same
 * PostgreSQL and Redis) deny the access token.
 */
describe("OpenID Provider across two replicas (processes on PostgreSQL and Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: GatehouseProcess;
  let second: GatehouseProcess;
  let checkOnSecond: grpc.Client;
  let issuer: string;
  let admin: string;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const env = {
      ...IDENTITY_ENV,
      ...postgresRedisTestEnvironment(database, { issuer, keyEncryptionKey: "6b".repeat(32) }),
    };
    first = await startGatehouseProcess({ env: { ...env, PORT: String(port) } });
    second = await startGatehouseProcess({ env });
    checkOnSecond = authorizationClient(second.url);
    admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    service = await createService(first.url, admin);
  });

  afterAll(async () => {
    checkOnSecond?.close();
    expect(await first?.stop()).toBe(0);
    expect(await second?.stop()).toBe(0);
    await database?.drop();
  });

  const check = (token: string): Promise<number> =>
    checkStatus(checkOnSecond, { token, service: service.slug });

  it("code + PKCE with the TOTP step, ID token, UserInfo, refresh, introspection, revocation, end-session; the other replica then denies the token", async () => {
    expect(first.url).toBe(issuer);
    // A web app: confidential (client_secret_basic), with PKCE as well.
    const { clientId, clientSecret } = await registerClient(first.url, admin, {
      type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
    });
    const user = await signUpAndLogin(first.url);
    await setGrants(first.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
    const enrollment = await ok(first.url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken);
    const used = new Set<number>();
    await ok(
      first.url,
      `${AUTH}/ConfirmTotp`,
      { code: freshTotpCode(enrollment.secret, used) },
      user.tokens.accessToken,
    );

    const config = await client.discovery(
      new URL(issuer),
      clientId,
      undefined,
      client.ClientSecretBasic(clientSecret),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/oidc/token`);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: "openid profile email",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });

    const browser = new HttpBrowser();
    const signIn = await browser.follow(authorizationUrl.toString(), issuer);
    expect(signIn.text).toContain('action="/signin"');
    const mfa = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.email, password: user.password },
      issuer,
    );
    expect(mfa.text).toContain('action="/signin/mfa"');
    const callback = await browser.submit(
      mfa.url,
      mfa.text,
      "/signin/mfa",
      { code: freshTotpCode(enrollment.secret, used) },
      issuer,
    );
    const callbackUrl = new URL(callback.location!);
    expect(callbackUrl.searchParams.get("iss")).toBe(issuer);
    expect(callbackUrl.searchParams.get("state")).toBe(state);

    // openid-client checks iss (RFC 9207), state, the ID token's signature (RS256 from the JWKS), nonce, at_hash…
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, sub: user.id, aud: clientId, nonce, amr: ["pwd", "otp"] });
    expect(claims.at_hash).toEqual(expect.any(String));

    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: user.email, preferred_username: user.username });
    expect(info.phone_number).toBeUndefined();

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    const accessToken = refreshed.access_token;
    // Both replicas accept the new token: VerifyToken, and Check for the granted service.
    await ok(second.url, `${AUTH}/VerifyToken`, { token: accessToken });
    expect(await check(accessToken)).toBe(0);

    // Introspection (RFC 7662) and revocation (RFC 7009), client-authenticated like the token endpoint.
    expect(await client.tokenIntrospection(config, accessToken)).toMatchObject({
      active: true,
      sub: user.id,
      client_id: clientId,
    });
    expect(await client.tokenIntrospection(config, refreshed.refresh_token!)).toMatchObject({ active: true });
    await client.tokenRevocation(config, tokens.access_token);
    expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    for (let tries = 0; (await check(tokens.access_token)) === 0; tries++) {
      if (tries > 500) throw new Error("the revocation never reached the second replica");
    }
    // The revoked token is the first one only: the refreshed one still passes on the other replica.
    expect(await check(accessToken)).toBe(0);

    const out = await browser.follow(
      client
        .buildEndSessionUrl(config, {
          id_token_hint: refreshed.id_token ?? tokens.id_token!,
          post_logout_redirect_uri: "http://127.0.0.1:9/signed-out",
          state: "after-logout",
        })
        .toString(),
      issuer,
    );
    expect(out.location).toBe("http://127.0.0.1:9/signed-out?state=after-logout");

    const started = performance.now();
    for (;;) {
      if ((await check(accessToken)) !== 0) break;
      if (performance.now() - started > 10_000)
        throw new Error("the logout never reached the second replica");
    }
    console.info(
      `end-session on replica 1 → Check denies on replica 2 after ${(performance.now() - started).toFixed(1)} ms`,
    );
    expect(await check(accessToken)).toBe(16);
    expect(await fails(second.url, `${AUTH}/VerifyToken`, { token: accessToken })).toMatchObject({
      status: 401,
      reason: "session_revoked",
    });
    // And the cookie signs nobody in any more: the next authorization asks for the password again.
    const again = await browser.follow(authorizationUrl.toString(), issuer);
    expect(again.text).toContain('action="/signin"');
    // The refresh token died with the session.
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });

  it("a code is single use across replicas: redeemed on one, replayed on the other, refused there and its tokens revoked", async () => {
    const { clientId } = await registerClient(first.url, admin);
    const user = await signUpAndLogin(first.url);
    const verifier = client.randomPKCECodeVerifier();
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    });
    const browser = new HttpBrowser();
    const signIn = await browser.follow(`${issuer}/oidc/authorize?${query}`, issuer);
    const callback = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.username, password: user.password },
      issuer,
    );
    const code = new URL(callback.location!).searchParams.get("code")!;
    const redeem = (base: string) =>
      fetch(`${base}/oidc/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: REDIRECT,
          client_id: clientId,
          code_verifier: verifier,
        }),
      });
    const redeemed = await redeem(second.url);
    expect(redeemed.status).toBe(200);
    const issued = (await redeemed.json()) as { access_token: string };
    await ok(second.url, `${AUTH}/VerifyToken`, { token: issued.access_token });
    const replayed = await redeem(first.url);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: "invalid_grant" });
    expect(await fails(second.url, `${AUTH}/VerifyToken`, { token: issued.access_token })).toMatchObject({
      status: 401,
    });
  });
});
