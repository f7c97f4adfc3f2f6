import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
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

const PASSWORD = "Correct-horse-battery-9";
const PATH = "/oidc/backchannel-logout";
const EVENT = "http://schemas.openid.net/event/backchannel-logout";

/**
 * OIDC Back-Channel Logout from Keycloak: the realm's clients post logout
 * tokens to the first replica (through a recorder in the test, so a real
 * token can be replayed); decisions are asked of the second. The event poller
 * is off here, so only the back channel can carry the logout.
 */
describe("Keycloak back-channel logout", () => {
  let realm: TestRealm;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let recorder: http.Server;
  const received: Array<{ body: string; status: number }> = [];

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    const env = { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_EVENTS_POLL_MS: "0" };
    first = await startTestGatehouse({ backend: "postgres", env });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
    recorder = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const forwarded = await fetch(`${first.url}${PATH}`, {
          method: "POST",
          headers: { "content-type": String(request.headers["content-type"]) },
          body,
        });
        received.push({ body, status: forwarded.status });
        response.statusCode = forwarded.status;
        response.end(await forwarded.text());
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, "127.0.0.1", resolve));
    await realm.setBackchannelLogoutUrl(
      `http://127.0.0.1:${(recorder.address() as AddressInfo).port}${PATH}`,
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => recorder?.close(resolve));
    await second?.stop();
    await first?.stop();
    await realm?.delete();
  });

  const verifies = async (token: string) =>
    (await postJson(second.url, `${AUTH}/VerifyToken`, { token })).status === 200;
  const post = (base: string, body: string, type = "application/x-www-form-urlencoded") =>
    fetch(`${base}${PATH}`, { method: "POST", headers: { "content-type": type }, body });

  /** A user signed in at Keycloak itself (as a browser app would be), known to Gatehouse from their token. */
  async function keycloakSession() {
    const admin = (
      await ok(first.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    const username = uniqueName("bcl");
    await ok(
      first.url,
      `${USERS}/CreateUser`,
      { username, email: `${username}@example.test`, password: PASSWORD },
      admin,
    );
    const response = await fetch(`${realm.issuer}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        username,
        password: PASSWORD,
        scope: "openid",
      }),
    });
    const tokens = (await response.json()) as { access_token: string; id_token: string };
    expect(await verifies(tokens.access_token)).toBe(true);
    return tokens;
  }

  it("denies on another replica a session the user ended at Keycloak's own logout", async () => {
    const tokens = await keycloakSession();
    const before = received.length;
    const logout = await fetch(
      `${realm.issuer}/protocol/openid-connect/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, client_id: KEYCLOAK_CLIENT_ID })}`,
    );
    const started = performance.now();
    expect(logout.status).toBe(200);
    expect(received.length).toBeGreaterThan(before);
    expect(received.at(-1)?.status).toBe(200);
    for (;;) {
      if (!(await verifies(tokens.access_token))) break;
      if (performance.now() - started > 30_000) throw new Error("not denied within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.info(
      `Keycloak logout → denied on the other replica ${(performance.now() - started).toFixed(0)} ms after Keycloak's logout answered`,
    );

    // The same token again (to either replica): refused, once used.
    const replayed = await post(second.url, received.at(-1)!.body);
    expect(replayed.status).toBe(400);
    expect(await replayed.json()).toMatchObject({ error: "invalid_request" });
  });

  it("refuses a forged logout token with 400 and revokes nothing", async () => {
    const tokens = await keycloakSession();
    const { sid, sub } = decodeJwt(tokens.access_token) as { sid: string; sub: string };
    const { privateKey } = await generateKeyPair("RS256");
    const kid = decodeProtectedHeader(tokens.access_token).kid!;
    const forge = (claims: Record<string, unknown>) =>
      new SignJWT({ events: { [EVENT]: {} }, sid, ...claims })
        .setProtectedHeader({ alg: "RS256", kid, typ: "logout+jwt" })
        .setIssuer(realm.issuer)
        .setAudience(KEYCLOAK_CLIENT_ID)
        .setSubject(sub)
        .setIssuedAt()
        .setJti(randomUUID())
        .sign(privateKey);
    for (const body of [
      `logout_token=${await forge({})}`,
      // Not a JWT at all, and no token.
      "logout_token=not-a-jwt",
      "",
    ]) {
      const response = await post(first.url, body);
      expect(response.status, body.slice(0, 40)).toBe(400);
    }
    expect((await post(first.url, `logout_token=${await forge({})}`, "application/json")).status).toBe(400);
    expect((await fetch(`${first.url}${PATH}`)).status).toBe(405);
    expect(await verifies(tokens.access_token)).toBe(true);
  });
});
