import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatehouseProcess } from "../../../harness/gatehouse-process.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, fails, IDENTITY_ENV, ok, TEST_ADMIN, uniqueName } from "../../support/identity.ts";
import {
  createTestRealm,
  ensureKeycloak,
  type KeycloakInstance,
  stopKeycloak,
  type TestRealm,
} from "../../support/keycloak.ts";
import { createTestPki, type TestPki } from "../../support/test-certificates.ts";

/**
 * Keycloak as docker-compose.yml runs it: a fixed public hostname (what a browser uses,
 * `KC_HOSTNAME`) with back-channel URLs that follow the request
 * (`KC_HOSTNAME_BACKCHANNEL_DYNAMIC=true`), while Gatehouse reaches it under another name
 * (`KEYCLOAK_URL`). Here the public name is keycloak.invalid and the back channel 127.0.0.1, on an
 * instance of its own (keycloak.sh KEYCLOAK_INSTANCE=compose, other ports).
 *
 * The same instance also serves https (HTTPS_PORT) with a test CA's certificate, for
 * KEYCLOAK_CA_FILE: one Keycloak start (~40 s on this machine) serves both, since a back channel
 * that follows the request answers https endpoints to an https request.
 */
const PORT = 8182;
const HTTPS_PORT = 8445;
// What browsers would use; it does not resolve here (RFC 6761), as localhost:8180 does not reach
// Keycloak from inside the Gatehouse container: every call Gatehouse makes must use KEYCLOAK_URL.
const PUBLIC_URL = `http://keycloak.invalid:${PORT}`;
const instance = (pki: TestPki): KeycloakInstance => ({
  name: "compose",
  port: PORT,
  managementPort: 9182,
  hostname: PUBLIC_URL,
  backchannelDynamic: true,
  https: { port: HTTPS_PORT, certificateFile: pki.serverCert, keyFile: `${pki.serverKey}.pk8` },
});
const PASSWORD = "Correct-horse-battery-9";

describe("Keycloak with a public hostname and a dynamic back channel (compose)", () => {
  let realm: TestRealm;
  let backchannelUrl: string;
  let publicIssuer: string;
  let gatehouse: TestGatehouse;
  let userId: string;
  let pki: TestPki;
  let INSTANCE: KeycloakInstance;
  const username = uniqueName("compose");

  beforeAll(async () => {
    pki = await createTestPki();
    // Keycloak (Quarkus) reads PKCS#8 keys; openssl ecparam writes SEC1.
    execFileSync("openssl", [
      "pkcs8",
      "-topk8",
      "-nocrypt",
      "-in",
      pki.serverKey,
      "-out",
      `${pki.serverKey}.pk8`,
    ]);
    INSTANCE = instance(pki);
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
    // A Keycloak start takes 40 s on an idle machine, minutes on a loaded one.
  }, 400_000);
  afterAll(async () => {
    await gatehouse?.stop();
    await realm?.delete();
    if (INSTANCE !== undefined) await stopKeycloak(INSTANCE);
    await pki?.remove();
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
    // PostgreSQL, not embedded: typeorm-pglite holds one PGlite per process, so a second embedded
    // Gatehouse beside the suite's own would share (and on stop close and reopen) that one.
    const other = await startTestGatehouse({ backend: "postgres", env: { ...env, ...realm.env, ...extra } });
    try {
      const failure = await fails(other.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
      console.log(`Login ${label}: ${failure.code} ${failure.reason} ${failure.message}`);
      expect(failure.code).toBe("internal");
    } finally {
      await other.stop();
    }
  });
  describe("over TLS (KEYCLOAK_CA_FILE)", () => {
    const httpsUrl = `https://127.0.0.1:${HTTPS_PORT}`;
    const TLS_ADMIN = uniqueName("tls-admin");
    // A generous timeout: on a loaded machine Keycloak's first admin calls take seconds.
    const tlsEnv = () => ({
      ...realm.env,
      KEYCLOAK_URL: httpsUrl,
      KEYCLOAK_ISSUER: publicIssuer,
      KEYCLOAK_TIMEOUT_MS: "30000",
    });

    it("a Gatehouse trusting the CA works: discovery, grants, JWKS, logout and the admin API over https", {
      timeout: 120_000,
    }, async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-kc-tls-"));
      // Its own process: the CA joins the process's trust store, which this test worker must not get.
      const served = await startGatehouseProcess({
        name: "gatehouse-keycloak-tls",
        env: {
          ...IDENTITY_ENV,
          ...tlsEnv(),
          // An administrator of its own, created in Keycloak through the admin API at start.
          BOOTSTRAP_ADMIN_USERNAME: TLS_ADMIN,
          BOOTSTRAP_ADMIN_EMAIL: `${TLS_ADMIN}@example.test`,
          KEYCLOAK_CA_FILE: pki.caCert,
          DATA_DIR: dataDir,
        },
      });
      try {
        // Started: the bootstrap administrator was created through the admin API.
        const { tokens } = await ok(served.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
        const verified = await ok(served.url, `${AUTH}/VerifyToken`, { token: tokens.accessToken });
        expect(verified.user.username).toBe(username);
        const refreshed = await ok(served.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken });
        const admin = await ok(served.url, `${AUTH}/Login`, {
          login: TLS_ADMIN,
          password: TEST_ADMIN.password,
        });
        const invited = uniqueName("tls");
        const created = await ok(
          served.url,
          "gatehouse.v1.UserService/CreateUser",
          { username: invited, email: `${invited}@example.test`, password: PASSWORD },
          admin.tokens.accessToken,
        );
        expect(created.user.username).toBe(invited);
        expect(
          (await realm.admin<unknown[]>("GET", `/users?username=${invited}&exact=true`)).body,
        ).toHaveLength(1);
        await ok(served.url, `${AUTH}/Logout`, { refreshToken: refreshed.tokens.refreshToken });
        expect(served.output()).toContain("trusting KEYCLOAK_CA_FILE");
        expect(served.output()).not.toContain("identity_provider_certificate_untrusted");
      } finally {
        await served.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    });

    it("a Gatehouse without the CA refuses Keycloak's certificate: UNAVAILABLE with its own reason", async () => {
      const { BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ...env } =
        IDENTITY_ENV;
      // Its error lines in the test output: an unexpected code must say what was thrown.
      // PostgreSQL for the reason above: with a second embedded instance the suite's own Gatehouse
      // reopened the shared PGlite in this one's data directory while it was being removed.
      const untrusting = await startTestGatehouse({
        backend: "postgres",
        env: { ...env, ...tlsEnv(), LOG_LEVEL: "error" },
      });
      try {
        const failure = await fails(untrusting.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
        console.log(`Login without KEYCLOAK_CA_FILE: ${failure.code} ${failure.reason} ${failure.message}`);
        expect(failure.code).toBe("unavailable");
        expect(failure.reason).toBe("identity_provider_certificate_untrusted");
      } finally {
        await untrusting.stop();
      }
    });
  });
});
