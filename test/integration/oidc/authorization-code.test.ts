import { decodeJwt } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
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

const REDIRECT = "http://127.0.0.1:9/callback";

/** openid-client (a certified relying party) against the built-in OpenID Provider, in process. */
describe("authorization code + PKCE with openid-client (embedded)", () => {
  let server: TestGatehouse;
  let admin: string;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    server = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, PORT: String(port), ISSUER: issuer },
    });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("signs a TOTP user in through the hosted pages, verifies the ID token, reads UserInfo, refreshes, ends the session", async () => {
    const { clientId } = await registerClient(server.url, admin);
    const user = await signUpAndLogin(server.url);
    const enrollment = await ok(server.url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken);
    const used = new Set<number>();
    await ok(
      server.url,
      `${AUTH}/ConfirmTotp`,
      { code: freshTotpCode(enrollment.secret, used) },
      user.tokens.accessToken,
    );

    const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: "openid profile email offline_access",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });

    const browser = new HttpBrowser();
    const signIn = await browser.follow(authorizationUrl.toString(), server.url);
    expect(signIn.status).toBe(200);
    expect(signIn.text).toContain("Sign in");
    const mfa = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.username, password: user.password },
      server.url,
    );
    expect(mfa.status).toBe(200);
    expect(mfa.text).toContain("Two-step verification");
    const callback = await browser.submit(
      mfa.url,
      mfa.text,
      "/signin/mfa",
      { code: freshTotpCode(enrollment.secret, used) },
      server.url,
    );
    expect(callback.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);

    const tokens = await client.authorizationCodeGrant(config, new URL(callback.location!), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.id);
    expect(claims.amr).toEqual(["pwd", "otp"]);
    expect(typeof claims.sid).toBe("string");
    expect(typeof claims.auth_time).toBe("number");

    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, preferred_username: user.username, email: user.email });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    await ok(server.url, `${AUTH}/VerifyToken`, { token: refreshed.access_token });

    const endSession = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: "http://127.0.0.1:9/signed-out",
      state: "bye",
    });
    const out = await browser.follow(endSession.toString(), server.url);
    expect(out.location).toBe("http://127.0.0.1:9/signed-out?state=bye");
    // The sign-in's session is over: its cookie signs nobody in any more.
    const again = await browser.follow(authorizationUrl.toString(), server.url);
    expect(again.text).toContain("Sign in");
    // offline_access (OIDC Core §11): the client's tokens are an offline session of their own,
    // which outlives the browser's logout…
    expect(decodeJwt(refreshed.access_token).sid).not.toBe(claims.sid);
    await ok(server.url, `${AUTH}/VerifyToken`, { token: refreshed.access_token });
    const later = await client.refreshTokenGrant(config, refreshed.refresh_token!);
    // …and ends when it is revoked (here by the client, RFC 7009): at once, on every door.
    await client.tokenRevocation(config, later.refresh_token!, { token_type_hint: "refresh_token" });
    expect(await fails(server.url, `${AUTH}/VerifyToken`, { token: later.access_token })).toMatchObject({
      status: 401,
      reason: "session_revoked",
    });
  });

  it("without offline_access the client's tokens belong to the sign-in's session: end-session ends them", async () => {
    const { clientId } = await registerClient(server.url, admin);
    const user = await signUpAndLogin(server.url);
    const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state: "s",
    });
    const browser = new HttpBrowser();
    const signIn = await browser.follow(authorizationUrl.toString(), server.url);
    const callback = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.username, password: user.password },
      server.url,
    );
    const tokens = await client.authorizationCodeGrant(config, new URL(callback.location!), {
      pkceCodeVerifier: verifier,
      expectedState: "s",
    });
    expect(decodeJwt(tokens.access_token).sid).toBe(tokens.claims()!.sid);
    const endSession = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! });
    await browser.follow(endSession.toString(), server.url);
    expect(await fails(server.url, `${AUTH}/VerifyToken`, { token: tokens.access_token })).toMatchObject({
      status: 401,
      reason: "session_revoked",
    });
  });
});
