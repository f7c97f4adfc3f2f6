import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, fails, IDENTITY_ENV, ok, uniqueName } from "../../support/identity.ts";
import {
  createTestRealm,
  ensureKeycloak,
  type KeycloakInstance,
  stopKeycloak,
  type TestRealm,
} from "../../support/keycloak.ts";

/**
 * Keycloak as docker-compose.yml runs it: a fixed public hostname (what a browser uses,
 * `KC_HOSTNAME`) with back-channel URLs that follow the request
 * (`KC_HOSTNAME_BACKCHANNEL_DYNAMIC=true`), while Gatehouse reaches it under another name
 * (`KEYCLOAK_URL`). Here the public name is keycloak.invalid and the back channel 127.0.0.1, on an
 * instance of its own (keycloak.sh KEYCLOAK_INSTANCE=compose, other ports).
 */
const PORT = 8182;
// What browsers would use; it does not resolve here (RFC 6761), as localhost:8180 does not reach
// Keycloak from inside the Gatehouse container: every call Gatehouse makes must use KEYCLOAK_URL.
const PUBLIC_URL = `http://keycloak.invalid:${PORT}`;
const INSTANCE: KeycloakInstance = {
  name: "compose",
  port: PORT,
  managementPort: 9182,
  hostname: PUBLIC_URL,
  backchannelDynamic: true,
};
const PASSWORD = "Correct-horse-battery-9";

describe("Keycloak with a public hostname and a dynamic back channel (compose)", () => {
  let realm: TestRealm;
  let backchannelUrl: string;
  let publicIssuer: string;
  let gatehouse: TestGatehouse;
  let userId: string;
  const username = uniqueName("compose");

  beforeAll(async () => {
    const started = Date.now();
    backchannelUrl = await ensureKeycloak(INSTANCE);
    console.log(`Keycloak (compose hostname options) ready after ${Date.now() - started} ms`);
    realm = await createTestRealm(backchannelUrl);
    publicIssuer = `${PUBLIC_URL}/realms/${realm.name}`;
    userId = await realm.createUser({ username, email: `${username}@example.test`, password: PASSWORD });
    gatehouse = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_ISSUER: publicIssuer },
    });
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await realm?.delete();
    await stopKeycloak(INSTANCE);
  });

  it("announces the public issuer, with back-channel endpoints at the URL Gatehouse uses", async () => {
    expect(backchannelUrl).toBe(`http://127.0.0.1:${PORT}`);
    const response = await fetch(`${backchannelUrl}/realms/${realm.name}/.well-known/openid-configuration`);
    const metadata = (await response.json()) as { issuer: string; token_endpoint: string; jwks_uri: string };
    expect(metadata.issuer).toBe(publicIssuer);
    expect(metadata.token_endpoint.startsWith(`${backchannelUrl}/`)).toBe(true);
    expect(metadata.jwks_uri.startsWith(`${backchannelUrl}/`)).toBe(true);
  });

  it("signs a user in through KEYCLOAK_URL, and VerifyToken accepts the token (iss is the public issuer)", async () => {
    const { tokens } = await ok(gatehouse.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
    const payload = JSON.parse(Buffer.from(tokens.accessToken.split(".")[1], "base64url").toString());
    expect(payload.iss).toBe(publicIssuer);
    const verified = await ok(gatehouse.url, `${AUTH}/VerifyToken`, { token: tokens.accessToken });
    expect(verified.user.username).toBe(username);
    const refreshed = await ok(gatehouse.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken });
    await ok(gatehouse.url, `${AUTH}/VerifyToken`, { token: refreshed.tokens.accessToken });
    // Logout posts to the realm's end-session endpoint (announced under the public name).
    await ok(gatehouse.url, `${AUTH}/Logout`, { refreshToken: refreshed.tokens.refreshToken });
    await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: refreshed.tokens.accessToken });
    const sessions = await realm.admin<unknown[]>("GET", `/users/${userId}/sessions`);
    expect(sessions.body).toEqual([]);
  });

  it.each([
    ["without KEYCLOAK_ISSUER", {}],
    [
      "with a KEYCLOAK_ISSUER the realm does not announce",
      { KEYCLOAK_ISSUER: "http://elsewhere.test/realms/x" },
    ],
  ])("%s, a Gatehouse refuses to work with the realm", async (label, extra: Record<string, string>) => {
    // No bootstrap administrator: its creation at start-up would be the first Keycloak call.
    const { BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ...env } =
      IDENTITY_ENV;
    const other = await startTestGatehouse({ backend: "embedded", env: { ...env, ...realm.env, ...extra } });
    try {
      const failure = await fails(other.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
      console.log(`Login ${label}: ${failure.code} ${failure.reason} ${failure.message}`);
      expect(failure.code).toBe("internal");
    } finally {
      await other.stop();
    }
  });
});
