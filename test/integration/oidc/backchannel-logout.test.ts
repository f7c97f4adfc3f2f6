import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import type { LocalIdentityProvider } from "../../../src/identity/local/local-identity-provider.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../../support/identity.ts";
import { HttpBrowser } from "../../support/oidc-browser.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";
const REDIRECT = "http://127.0.0.1:9/callback";
const EVENT = "http://schemas.openid.net/event/backchannel-logout";

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly logoutToken: string;
}

/**
 * A relying party's back-channel logout endpoint: records every POST; `answer`
 * decides each response per path (a status, or "hang" to never answer).
 */
async function startReceiver(answer: (path: string, count: number) => number | "hang") {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = request.url ?? "";
      received.push({
        path,
        contentType: String(request.headers["content-type"] ?? ""),
        logoutToken: new URLSearchParams(Buffer.concat(chunks).toString("utf8")).get("logout_token") ?? "",
      });
      const status = answer(path, received.filter((entry) => entry.path === path).length);
      if (status === "hang") {
        hanging.push(response);
        return;
      }
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: (path: string) => received.filter((entry) => entry.path === path),
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe("back-channel logout to OIDC clients (postgres, two replicas)", () => {
  let server: TestGatehouse;
  let replica: TestGatehouse;
  let provider: LocalIdentityProvider;
  let admin: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** The first replica's own URL: the hosted pages need the issuer to be where the browser goes. */
  let ISSUER: string;
  const answers = new Map<string, (count: number) => number | "hang">();

  beforeAll(async () => {
    receiver = await startReceiver((path, count) => answers.get(path)?.(count) ?? 200);
    const port = await freePort();
    ISSUER = `http://127.0.0.1:${port}`;
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, PORT: String(port), ISSUER },
      hooks: {
        onLocalProvider: (local) => {
          provider = local;
        },
      },
    });
    replica = await startTestGatehouse({ backend: "postgres", shareWith: server, env: { PORT: "0" } });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await replica?.stop();
    await server?.stop();
    await receiver?.close();
  });

  /** A client with a back-channel logout URI of its own path on the receiver. */
  const registerClient = async (extra: Record<string, unknown> = {}) => {
    const path = `/${uniqueName("logout")}`;
    const created = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      {
        name: "Relying party",
        type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
        redirectUris: { uris: [REDIRECT] },
        firstParty: true,
        scopes: { scopes: ["openid", "offline_access"] },
        backchannelLogoutUri: `${receiver.url}${path}`,
        ...extra,
      },
      admin,
    );
    return { clientId: created.client.clientId as string, path };
  };

  /** A user's session in which `clientId` got tokens (what the token endpoint does). */
  const sessionWith = async (clientId: string) => {
    const user = await signUpAndLogin(server.url);
    await provider.issueForClient(
      user.tokens.sessionId,
      { clientId, scope: "openid offline_access", audience: ["gatehouse"] },
      { withRefreshToken: true },
    );
    return user;
  };

  const jwks = () => createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));

  it("posts one logout token per session end, verifiable against the JWKS, from two replicas hearing it", async () => {
    const client = await registerClient();
    const user = await sessionWith(client.clientId);
    // Logout on the other replica: both hear the session end; only one tells the client.
    await ok(replica.url, `${AUTH}/Logout`, { refreshToken: user.tokens.refreshToken });
    await expect.poll(() => receiver.received(client.path).length, { timeout: 10_000 }).toBe(1);

    const [delivery] = receiver.received(client.path);
    expect(delivery!.contentType).toBe("application/x-www-form-urlencoded");
    expect(decodeProtectedHeader(delivery!.logoutToken)).toMatchObject({ typ: "logout+jwt" });
    const { payload } = await jwtVerify(delivery!.logoutToken, jwks(), {
      issuer: ISSUER,
      audience: client.clientId,
      typ: "logout+jwt",
    });
    expect(payload).toMatchObject({ sub: user.id, sid: user.tokens.sessionId, events: { [EVENT]: {} } });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBeGreaterThan(0);
    expect(payload).not.toHaveProperty("nonce");

    // Give a late duplicate the time to show (the feed's poll is a backstop to pub/sub).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(receiver.received(client.path)).toHaveLength(1);
  });

  it("tells a client that signed the user in through the authorization endpoint without a refresh token", async () => {
    const client = await registerClient({
      type: "OIDC_CLIENT_TYPE_PUBLIC",
      tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_NONE",
      grantTypes: { grantTypes: ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"] },
      scopes: { scopes: ["openid"] },
    });
    const user = await signUpAndLogin(server.url);
    const verifier = randomBytes(32).toString("base64url");
    const query = new URLSearchParams({
      response_type: "code",
      client_id: client.clientId,
      redirect_uri: REDIRECT,
      scope: "openid",
      state: "s",
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    });
    const browser = new HttpBrowser();
    const signIn = await browser.follow(`${ISSUER}/oidc/authorize?${query}`, ISSUER);
    const back = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.username, password: user.password },
      ISSUER,
    );
    const code = new URL(back.location!).searchParams.get("code")!;
    const exchanged = await fetch(`${ISSUER}/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT,
        client_id: client.clientId,
        code_verifier: verifier,
      }),
    });
    const tokens = (await exchanged.json()) as { id_token: string; refresh_token?: string };
    expect(tokens.refresh_token).toBeUndefined();
    const sid = (await jwtVerify(tokens.id_token, jwks(), { issuer: ISSUER })).payload.sid;

    // The browser session ends through an administrator's door, on the other replica.
    await ok(replica.url, `${USERS}/RevokeUserSessions`, { userId: user.id }, admin);
    await expect
      .poll(() => receiver.received(client.path).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
    const sids = await Promise.all(
      receiver
        .received(client.path)
        .map(
          async (delivery) =>
            (await jwtVerify(delivery.logoutToken, jwks(), { issuer: ISSUER, audience: client.clientId }))
              .payload.sid,
        ),
    );
    expect(sids).toContain(sid);
  });

  it("tells the client when an administrator ends the user's sessions (another door)", async () => {
    const client = await registerClient({ idTokenSigningAlg: "OIDC_SIGNING_ALGORITHM_ES256" });
    const user = await sessionWith(client.clientId);
    await ok(server.url, `${USERS}/UpdateUser`, { userId: user.id, status: "USER_STATUS_DISABLED" }, admin);
    await expect.poll(() => receiver.received(client.path).length, { timeout: 10_000 }).toBe(1);
    const { payload } = await jwtVerify(receiver.received(client.path)[0]!.logoutToken, jwks(), {
      issuer: ISSUER,
      audience: client.clientId,
    });
    expect(payload.sid).toBe(user.tokens.sessionId);
  });

  it("retries a failing receiver, and never tells a client that took no part or registered no URI", async () => {
    const client = await registerClient();
    const bystander = await registerClient();
    answers.set(client.path, (count) => (count === 1 ? 503 : 200));
    const user = await sessionWith(client.clientId);
    await ok(server.url, `${AUTH}/Logout`, { refreshToken: user.tokens.refreshToken });
    await expect.poll(() => receiver.received(client.path).length, { timeout: 10_000 }).toBe(2);
    // A fresh token for the retry (a receiver may refuse a replayed jti).
    const [first, second] = receiver.received(client.path);
    expect(first!.logoutToken).not.toBe(second!.logoutToken);
    expect(receiver.received(bystander.path)).toHaveLength(0);
  });

  it("never holds up the logout: a receiver that does not answer is abandoned", async () => {
    const client = await registerClient();
    answers.set(client.path, () => "hang");
    const user = await sessionWith(client.clientId);
    const started = performance.now();
    await ok(server.url, `${AUTH}/Logout`, { refreshToken: user.tokens.refreshToken });
    console.log(`Logout answered in ${(performance.now() - started).toFixed(0)} ms with a hanging receiver`);
    // The logout is done (its tokens are refused) while the receiver still holds the POST.
    const refresh = await fetch(`${server.url}/${AUTH}/Refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: user.tokens.refreshToken }),
    });
    expect(refresh.status).toBe(401);
    await expect
      .poll(() => receiver.received(client.path).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);
  });
});
