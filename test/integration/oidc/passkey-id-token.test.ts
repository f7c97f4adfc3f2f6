import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import { resolveKeyEncryptionKey } from "../../../src/identity/local/key-encryption-key.ts";
import { Sealer } from "../../../src/identity/local/sealer.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  TEST_KEY_ENCRYPTION_KEY,
} from "../../support/identity.ts";
import { HttpBrowser, registerClient } from "../../support/oidc-browser.ts";
import { passkeySignIn, registerPasskey } from "../../support/passkey-ceremonies.ts";
import { SoftwareAuthenticator } from "../../support/software-authenticator.ts";

const REDIRECT = "http://127.0.0.1:9/callback";

/**
 * A passkey sign-in's amr reaches the ID token through the OpenID Provider's real endpoints. The
 * browser holds the SSO cookie the hosted sign-in page sets after a sign-in (made here with the
 * same key: the hosted passkey page is tested in the browser tests).
 */
describe("ID tokens of passkey sessions (embedded)", () => {
  let server: TestGatehouse;
  let issuer: string;
  let origin: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    origin = `http://localhost:${port}`;
    server = await startTestGatehouse({
      backend: "embedded",
      env: {
        ...IDENTITY_ENV,
        PORT: String(port),
        ISSUER: issuer,
        PASSKEY_RP_ID: "localhost",
        PASSKEY_ORIGINS: origin,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function idTokenClaims(sessionId: string) {
    const admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const { clientId } = await registerClient(server.url, admin);
    const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: "openid",
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      nonce,
    });
    const mac = new Sealer(
      await resolveKeyEncryptionKey({ kind: "configured", material: TEST_KEY_ENCRYPTION_KEY }),
      "sso-cookie",
    ).mac(`sso:${sessionId}`);
    const browser = new HttpBrowser();
    browser.cookies.set("gatehouse_sso", `${sessionId}.${mac}`);
    const callback = await browser.follow(authorizationUrl.toString(), server.url);
    expect(callback.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback.location!), {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    return tokens.claims()!;
  }

  it("carries hwk + user for a passwordless sign-in and pwd + hwk + mfa for the passkey as second factor", async () => {
    const user = await signUpAndLogin(server.url);
    const authenticator = new SoftwareAuthenticator({ origin });
    await registerPasskey(server.url, user.tokens.accessToken, authenticator);

    const alone = { tokens: await passkeySignIn(server.url, authenticator) };
    const aloneClaims = await idTokenClaims(alone.tokens.sessionId);
    expect(aloneClaims).toMatchObject({ sub: user.id, sid: alone.tokens.sessionId, amr: ["hwk", "user"] });

    const login = await ok(server.url, `${AUTH}/Login`, { login: user.username, password: user.password });
    const both = {
      tokens: await passkeySignIn(server.url, authenticator, { mfaToken: login.mfaChallenge.mfaToken }),
    };
    expect((await idTokenClaims(both.tokens.sessionId)).amr).toEqual(["pwd", "hwk", "mfa"]);
  });
});
