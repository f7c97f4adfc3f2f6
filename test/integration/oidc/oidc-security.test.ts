import { createHash, randomBytes } from "node:crypto";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import { createService } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
} from "../../support/identity.ts";
import { formFields, HttpBrowser, registerClient } from "../../support/oidc-browser.ts";

const REDIRECT = "http://127.0.0.1:9/callback";
const REGISTRY = "gatehouse.v1.ServiceRegistryService";

/** A response's JSON body, untyped (the tests check its shape). */
const jsonOf = async (response: Response | Promise<Response>): Promise<any> => (await response).json();

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

async function startWithIssuer(env: Record<string, string> = {}, scheme = "http") {
  const port = await freePort();
  const issuer = `${scheme}://127.0.0.1:${port}`;
  const server = await startTestGatehouse({
    backend: "embedded",
    env: { ...IDENTITY_ENV, PORT: String(port), ISSUER: issuer, ...env },
  });
  return { server, issuer, url: `http://127.0.0.1:${port}` };
}

/**
 * Each defence of the authorization endpoint, the hosted pages and the token
 * endpoint in its own test (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1),
 * against a running server.
 */
describe("OpenID Provider security cases", () => {
  let server: TestGatehouse;
  let issuer: string;
  let url: string;
  let admin: string;
  let publicClient: string;
  let user: Awaited<ReturnType<typeof signUpAndLogin>>;

  beforeAll(async () => {
    ({ server, issuer, url } = await startWithIssuer());
    admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    publicClient = (await registerClient(url, admin)).clientId;
    user = await signUpAndLogin(url);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const authorizeUrl = (params: Record<string, string | undefined>) => {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
    return `${url}/oidc/authorize?${query}`;
  };
  const baseParams = (challenge: string, overrides: Record<string, string | undefined> = {}) => ({
    response_type: "code",
    client_id: publicClient,
    redirect_uri: REDIRECT,
    scope: "openid profile",
    state: "st-1",
    nonce: "n-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...overrides,
  });

  /** Signs in through the pages; returns the client callback URL. */
  async function codeFor(params: Record<string, string | undefined>, browser = new HttpBrowser()) {
    let page = await browser.follow(authorizeUrl(params), url);
    if (page.location === undefined) {
      page = await browser.submit(
        page.url,
        page.text,
        "/signin",
        { login: user.username, password: user.password },
        url,
      );
    }
    return { callback: new URL(page.location!), browser };
  }

  const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${url}/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form),
    });

  const exchange = (code: string, verifier: string, extra: Record<string, string> = {}) =>
    token({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT,
      client_id: publicClient,
      code_verifier: verifier,
      ...extra,
    });

  it("a code is single use: a replay is refused and revokes what the first exchange issued", async () => {
    const { verifier, challenge } = pkce();
    const { callback } = await codeFor(baseParams(challenge));
    const code = callback.searchParams.get("code")!;
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    const issued = await jsonOf(first);
    await ok(url, `${AUTH}/VerifyToken`, { token: issued.access_token });
    const replay = await exchange(code, verifier);
    expect(replay.status).toBe(400);
    expect(await jsonOf(replay)).toMatchObject({ error: "invalid_grant" });
    expect(await fails(url, `${AUTH}/VerifyToken`, { token: issued.access_token })).toMatchObject({
      reason: "session_revoked",
    });
    const refresh = await token({
      grant_type: "refresh_token",
      refresh_token: issued.refresh_token,
      client_id: publicClient,
    });
    expect(await jsonOf(refresh)).toMatchObject({ error: "invalid_grant" });
  });

  it("a wrong code_verifier is invalid_grant, and so is a missing one", async () => {
    const { challenge } = pkce();
    const { callback } = await codeFor(baseParams(challenge));
    const wrong = await exchange(callback.searchParams.get("code")!, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await jsonOf(wrong)).toMatchObject({ error: "invalid_grant" });
    const second = await codeFor(baseParams(challenge));
    const missing = await token({
      grant_type: "authorization_code",
      code: second.callback.searchParams.get("code")!,
      redirect_uri: REDIRECT,
      client_id: publicClient,
    });
    expect(await jsonOf(missing)).toMatchObject({ error: "invalid_grant" });
  });

  it("a code is bound to its redirect_uri and client", async () => {
    const { verifier, challenge } = pkce();
    const other = (await registerClient(url, admin)).clientId;
    const { callback } = await codeFor(baseParams(challenge));
    const code = callback.searchParams.get("code")!;
    expect(await jsonOf(exchange(code, verifier, { client_id: other }))).toMatchObject({
      error: "invalid_grant",
    });
    const again = await codeFor(baseParams(challenge));
    const wrongRedirect = await exchange(again.callback.searchParams.get("code")!, verifier, {
      redirect_uri: "http://127.0.0.1:9/callback/other",
    });
    expect(await jsonOf(wrongRedirect)).toMatchObject({ error: "invalid_grant" });
  });

  it("a public client without PKCE is refused by a redirect with invalid_request, state and iss", async () => {
    const browser = new HttpBrowser();
    const page = await browser.request(
      authorizeUrl(baseParams("", { code_challenge: undefined, code_challenge_method: undefined })),
    );
    expect(page.status).toBe(302);
    const location = new URL(page.location!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("state")).toBe("st-1");
    expect(location.searchParams.get("iss")).toBe(issuer);
    expect(location.searchParams.get("code")).toBeNull();
  });

  it("code_challenge_method=plain is refused, and so is a challenge without a method (plain by default)", async () => {
    const { verifier } = pkce();
    for (const method of ["plain", undefined]) {
      const page = await new HttpBrowser().request(
        authorizeUrl(baseParams(verifier, { code_challenge_method: method })),
      );
      const location = new URL(page.location!);
      expect(location.searchParams.get("error")).toBe("invalid_request");
      expect(location.searchParams.get("error_description")).toMatch(/S256/);
    }
  });

  it("a redirect_uri not registered exactly shows an error page and never redirects", async () => {
    const { challenge } = pkce();
    const attempts = [
      "https://evil.example/callback",
      "http://127.0.0.1:9/callback/",
      "http://127.0.0.1:9/callback?x=1",
      "http://127.0.0.1:9/callback#frag",
      "http://127.0.0.1:99/callback",
      "HTTP://127.0.0.1:9/callback",
      "http://127.0.0.1:9/Callback",
      "http://127.0.0.1:9/callback/../evil",
      "//evil.example/callback",
      "",
    ];
    for (const redirectUri of attempts) {
      const page = await new HttpBrowser().request(
        authorizeUrl(baseParams(challenge, { redirect_uri: redirectUri })),
      );
      expect(page.status, redirectUri).toBe(400);
      expect(page.location, redirectUri).toBeUndefined();
      expect(page.text).toContain("not registered");
    }
    // An unknown client: no redirect either.
    const unknown = await new HttpBrowser().request(
      authorizeUrl(baseParams(challenge, { client_id: "nobody-here" })),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.location).toBeUndefined();
  });

  it("open redirects: post_logout_redirect_uri must be registered for the hinted client; sign-in forms stay on our origin", async () => {
    const { verifier, challenge } = pkce();
    const { callback, browser } = await codeFor(baseParams(challenge));
    const issued = await jsonOf(exchange(callback.searchParams.get("code")!, verifier));
    for (const target of [
      "https://evil.example/",
      "http://127.0.0.1:9/signed-out/x",
      "http://127.0.0.1:9/callback",
    ]) {
      const page = await browser.request(
        `${url}/oidc/end-session?${new URLSearchParams({ id_token_hint: issued.id_token, post_logout_redirect_uri: target })}`,
      );
      expect(page.status, target).toBe(400);
      expect(page.location).toBeUndefined();
    }
    // Without a hint or client_id, no post-logout redirect is honoured at all.
    const bare = await browser.request(
      `${url}/oidc/end-session?${new URLSearchParams({ post_logout_redirect_uri: "http://127.0.0.1:9/signed-out" })}`,
    );
    expect(bare.status).toBe(400);
    expect(bare.location).toBeUndefined();
    // A forged hint (signed by someone else) is refused without a redirect.
    const forged = `${issued.id_token.split(".").slice(0, 2).join(".")}.${randomBytes(256).toString("base64url")}`;
    const forgedPage = await browser.request(
      `${url}/oidc/end-session?${new URLSearchParams({ id_token_hint: forged, post_logout_redirect_uri: "http://127.0.0.1:9/signed-out" })}`,
    );
    expect(forgedPage.status).toBe(400);
    expect(forgedPage.location).toBeUndefined();
    // The sign-in page's form posts to our own path, and its redirect target is only the registered URI.
    const fresh = new HttpBrowser();
    const signIn = await fresh.follow(
      authorizeUrl(baseParams(challenge, { login_hint: '"><script>x</script>' })),
      url,
    );
    expect(signIn.text).not.toContain("<script>x");
    expect(signIn.headers.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:9");
    const pending = formFields(signIn.text, "/signin").pending!;
    const tampered = await fresh.request(
      `${url}/signin?pending=${encodeURIComponent("https://evil.example/")}`,
    );
    expect(tampered.status).toBe(400);
    expect(pending).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("a direct sign-in (no authorization request) returns only to a path on our own origin", async () => {
    for (const [returnTo, expected] of [
      ["/signup?x=1", "/signup?x=1"],
      ["https://evil.example/", undefined],
      ["//evil.example/", undefined],
      ["/\\evil.example", undefined],
    ] as const) {
      const browser = new HttpBrowser();
      const page = await browser.request(`${url}/signin?${new URLSearchParams({ return_to: returnTo })}`);
      expect(page.status).toBe(200);
      const done = await browser.request(`${url}/signin`, {
        form: { ...formFields(page.text, "/signin"), login: user.username, password: user.password },
      });
      if (expected === undefined) {
        expect(done.status, returnTo).toBe(200);
        expect(done.location).toBeUndefined();
        expect(done.text).toContain("You are signed in");
      } else {
        expect(done.status).toBe(303);
        expect(done.location).toBe(expected);
      }
    }
  });

  it("state comes back exactly as sent, on success and on error", async () => {
    const { challenge } = pkce();
    const state = "a b&c=d%20é+/?#~!'()*ü";
    const { callback } = await codeFor(baseParams(challenge, { state }));
    expect(callback.searchParams.get("state")).toBe(state);
    expect(callback.searchParams.get("iss")).toBe(issuer);
    const error = await new HttpBrowser().request(
      authorizeUrl(baseParams(challenge, { state, scope: "profile" })),
    );
    const location = new URL(error.location!);
    expect(location.searchParams.get("error")).toBe("invalid_scope");
    expect(location.searchParams.get("state")).toBe(state);
    // No state sent: none returned.
    const none = await new HttpBrowser().request(
      authorizeUrl(baseParams(challenge, { state: undefined, scope: "profile" })),
    );
    expect(new URL(none.location!).searchParams.has("state")).toBe(false);
  });

  it("CSRF: the sign-in, MFA and consent forms are refused without the page's token", async () => {
    const { challenge } = pkce();
    const browser = new HttpBrowser();
    const signIn = await browser.follow(authorizeUrl(baseParams(challenge)), url);
    const fields = formFields(signIn.text, "/signin");
    const withoutToken: Record<string, string> = { ...fields, login: user.username, password: user.password };
    delete withoutToken.csrf_token;
    expect((await browser.request(`${url}/signin`, { form: withoutToken })).status).toBe(403);
    // A token from another browser (another cookie) does not work either.
    const attacker = new HttpBrowser();
    const theirs = await attacker.follow(authorizeUrl(baseParams(challenge)), url);
    const forged = {
      ...fields,
      csrf_token: formFields(theirs.text, "/signin").csrf_token!,
      login: user.username,
      password: user.password,
    };
    expect((await browser.request(`${url}/signin`, { form: forged })).status).toBe(403);
    for (const path of ["/signin/mfa", "/consent"]) {
      expect(
        (
          await browser.request(`${url}${path}`, {
            form: { pending: fields.pending!, code: "123456", decision: "allow" },
          })
        ).status,
      ).toBe(403);
    }
    // Nothing was signed in: the browser still has no SSO cookie.
    expect([...browser.cookies.keys()].some((name) => name.includes("sso"))).toBe(false);
  });

  it("the hosted pages cannot be framed", async () => {
    const { challenge } = pkce();
    const page = await new HttpBrowser().follow(authorizeUrl(baseParams(challenge)), url);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
  });

  it("the SSO cookie is HttpOnly and SameSite=Lax, and names a session that any logout ends", async () => {
    const { challenge } = pkce();
    const { browser } = await codeFor(baseParams(challenge));
    const sso = browser.setCookies.find((cookie) => cookie.startsWith("gatehouse_sso="))!;
    expect(sso).toMatch(/; HttpOnly/);
    expect(sso).toMatch(/; SameSite=Lax/);
    expect(sso).not.toMatch(/; Secure/);
    // Signed in: the next authorization needs no password.
    const silent = await browser.request(authorizeUrl(baseParams(challenge, { prompt: "none" })));
    expect(new URL(silent.location!).searchParams.get("code")).not.toBeNull();
    // Logout through another door (the RPC, every session of the user) ends the cookie's session too.
    const tokens = await loginTokens(url, user.username, user.password);
    await ok(url, `${AUTH}/LogoutEverywhere`, {}, tokens.accessToken);
    const after = await browser.request(authorizeUrl(baseParams(challenge, { prompt: "none" })));
    expect(new URL(after.location!).searchParams.get("error")).toBe("login_required");
    // A cookie with a forged MAC names nobody.
    const forged = new HttpBrowser();
    forged.cookies.set(
      "gatehouse_sso",
      `${browser.cookies.get("gatehouse_sso")?.split(".")[0]}.${"0".repeat(64)}`,
    );
    const forgedPage = await forged.request(authorizeUrl(baseParams(challenge, { prompt: "none" })));
    expect(new URL(forgedPage.location!).searchParams.get("error")).toBe("login_required");
  });

  it("prompt=login and max_age=0 ask for the password again although signed in", async () => {
    const { challenge } = pkce();
    const { browser } = await codeFor(baseParams(challenge));
    for (const extra of [{ prompt: "login" }, { max_age: "0" }]) {
      const page = await browser.follow(authorizeUrl(baseParams(challenge, extra)), url);
      expect(page.text).toContain('action="/signin"');
    }
  });

  it("a client not marked first-party gets the consent page; Deny redirects access_denied", async () => {
    const { challenge } = pkce();
    const thirdParty = (await registerClient(url, admin, { firstParty: false })).clientId;
    const browser = new HttpBrowser();
    let page = await browser.follow(authorizeUrl(baseParams(challenge, { client_id: thirdParty })), url);
    page = await browser.submit(
      page.url,
      page.text,
      "/signin",
      { login: user.username, password: user.password },
      url,
    );
    expect(page.text).toContain("Allow access?");
    const denied = await browser.submit(page.url, page.text, "/consent", { decision: "deny" }, url);
    expect(new URL(denied.location!).searchParams.get("error")).toBe("access_denied");
    page = await browser.follow(authorizeUrl(baseParams(challenge, { client_id: thirdParty })), url);
    const allowed = await browser.submit(page.url, page.text, "/consent", { decision: "allow" }, url);
    expect(new URL(allowed.location!).searchParams.get("code")).not.toBeNull();
    // Remembered: no consent page the next time.
    const again = await browser.request(
      authorizeUrl(baseParams(challenge, { client_id: thirdParty, prompt: "none" })),
    );
    expect(new URL(again.location!).searchParams.get("code")).not.toBeNull();
  });

  it("the token endpoint: invalid_client is 401 with WWW-Authenticate; a confidential client authenticates with Basic", async () => {
    const { clientId, clientSecret } = await registerClient(url, admin, {
      type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
    });
    const basic = (secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`;
    const refused = await token(
      { grant_type: "authorization_code", code: "x", redirect_uri: REDIRECT },
      { authorization: basic("wrong") },
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(await jsonOf(refused)).toMatchObject({ error: "invalid_client" });
    expect(refused.headers.get("cache-control")).toBe("no-store");
    // Confidential clients may skip PKCE; the code still works with the right secret.
    const { callback } = await codeFor(
      baseParams("", { client_id: clientId, code_challenge: undefined, code_challenge_method: undefined }),
    );
    const answered = await token(
      { grant_type: "authorization_code", code: callback.searchParams.get("code")!, redirect_uri: REDIRECT },
      { authorization: basic(clientSecret) },
    );
    expect(answered.status).toBe(200);
    const body = await jsonOf(answered);
    expect(body).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
    expect(decodeProtectedHeader(body.id_token).alg).toBe("RS256");
    expect(
      (await token({ grant_type: "password", username: "x" }, { authorization: basic(clientSecret) })).status,
    ).toBe(400);
    expect(
      await jsonOf(token({ grant_type: "password" }, { authorization: basic(clientSecret) })),
    ).toMatchObject({
      error: "unsupported_grant_type",
    });
    // A parameter sent twice is invalid_request (RFC 6749 §3.1).
    const twice = await fetch(`${url}/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientSecret) },
      body: "grant_type=authorization_code&code=a&code=b",
    });
    expect(await jsonOf(twice)).toMatchObject({ error: "invalid_request" });
  });

  it("client_credentials: a service account's id and secret get an access token VerifyToken accepts", async () => {
    const created = await ok(
      url,
      `${REGISTRY}/CreateServiceAccount`,
      { name: "oidc-cc", description: "cc" },
      admin,
    );
    const response = await token({
      grant_type: "client_credentials",
      client_id: created.serviceAccount.clientId,
      client_secret: created.clientSecret,
    });
    expect(response.status).toBe(200);
    const body = await jsonOf(response);
    expect(body.token_type).toBe("Bearer");
    await ok(url, `${AUTH}/VerifyToken`, { token: body.access_token });
    const wrong = await token({
      grant_type: "client_credentials",
      client_id: created.serviceAccount.clientId,
      client_secret: "nope",
    });
    expect(wrong.status).toBe(401);
  });

  it("resource indicators: the access token's aud names the service, VerifyToken still accepts it; an unknown resource is invalid_target", async () => {
    const audience = `https://billing-${randomBytes(3).toString("hex")}.example`;
    await createService(url, admin, { audience });
    const { verifier, challenge } = pkce();
    const { callback } = await codeFor(baseParams(challenge, { resource: audience }));
    const issued = await jsonOf(exchange(callback.searchParams.get("code")!, verifier));
    const aud = decodeJwt(issued.access_token).aud;
    expect(aud).toEqual([audience, "gatehouse"]);
    await ok(url, `${AUTH}/VerifyToken`, { token: issued.access_token });
    const unknown = await new HttpBrowser().request(
      authorizeUrl(baseParams(challenge, { resource: "https://nobody.example" })),
    );
    expect(new URL(unknown.location!).searchParams.get("error")).toBe("invalid_target");
  });

  it("ID tokens are ES256 for a client that asks, verifiable from the JWKS, which publishes both key types", async () => {
    const es = (await registerClient(url, admin, { idTokenSigningAlg: "OIDC_SIGNING_ALGORITHM_ES256" }))
      .clientId;
    const { verifier, challenge } = pkce();
    const { callback } = await codeFor(baseParams(challenge, { client_id: es }));
    const issued = await jsonOf(exchange(callback.searchParams.get("code")!, verifier, { client_id: es }));
    expect(decodeProtectedHeader(issued.id_token)).toMatchObject({ alg: "ES256", typ: "JWT" });
    const jwks = await jsonOf(fetch(`${url}/.well-known/jwks.json`));
    expect(new Set(jwks.keys.map((key: { kty: string }) => key.kty))).toEqual(new Set(["EC", "RSA"]));
    // An ID token is no access token: VerifyToken refuses it.
    expect((await fails(url, `${AUTH}/VerifyToken`, { token: issued.id_token })).status).toBe(401);
  });

  it("UserInfo refuses a token without openid scope (Login's) and a missing one", async () => {
    const login = await loginTokens(url, user.username, user.password);
    const noScope = await fetch(`${url}/oidc/userinfo`, {
      headers: { authorization: `Bearer ${login.accessToken}` },
    });
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get("www-authenticate")).toContain("insufficient_scope");
    const none = await fetch(`${url}/oidc/userinfo`);
    expect(none.status).toBe(401);
  });
});

describe("the sign-in form under the lockout and rate limits of Login", () => {
  it("the form and the Login RPC share one rate-limit budget (per IP, per account)", async () => {
    const { server, url } = await startWithIssuer({ RATE_LIMIT_SENSITIVE_PER_MINUTE: "3" });
    try {
      const admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
      const clientId = (await registerClient(url, admin)).clientId;
      const { challenge } = pkce();
      const browser = new HttpBrowser();
      const signIn = await browser.follow(
        `${url}/oidc/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`,
        url,
      );
      const fields = formFields(signIn.text, "/signin");
      // The budget per IP for Login is 3 a minute: the admin's Login above spent one.
      const login = "victim@example.test";
      await fails(url, `${AUTH}/Login`, { login, password: "guess-1" });
      const third = await browser.request(`${url}/signin`, {
        form: { ...fields, login, password: "guess-2" },
      });
      expect(third.status).toBe(401);
      const fourth = await browser.request(`${url}/signin`, {
        form: { ...fields, login, password: "guess-3" },
      });
      expect(fourth.status).toBe(429);
      expect(fourth.text).toContain("Too many attempts");
      // And the form's attempts count against the RPC in turn.
      expect((await fails(url, `${AUTH}/Login`, { login: "someone-else", password: "x" })).code).toBe(
        "resource_exhausted",
      );
    } finally {
      await server.stop();
    }
  });

  it("wrong passwords on the form throttle the source as Login does, for the form and the RPC alike", async () => {
    const { server, url } = await startWithIssuer({ LOCKOUT_THRESHOLD: "3", LOCKOUT_SOURCE_THRESHOLD: "3" });
    try {
      const admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
      const clientId = (await registerClient(url, admin)).clientId;
      const user = await signUpAndLogin(url);
      const { challenge } = pkce();
      const browser = new HttpBrowser();
      const signIn = await browser.follow(
        `${url}/oidc/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`,
        url,
      );
      const fields = formFields(signIn.text, "/signin");
      for (let attempt = 0; attempt < 3; attempt++) {
        const page = await browser.request(`${url}/signin`, {
          form: { ...fields, login: user.username, password: "wrong-password" },
        });
        expect(page.text).toContain("The username or password is wrong");
      }
      // Locked: the right password is refused on the form and by the RPC alike.
      const locked = await browser.request(`${url}/signin`, {
        form: { ...fields, login: user.username, password: user.password },
      });
      expect(locked.status).toBe(429);
      expect(locked.location).toBeUndefined();
      expect(locked.text).toContain("Too many attempts");
      expect(
        (await fails(url, `${AUTH}/Login`, { login: user.username, password: user.password })).reason,
      ).toBe("sign_in_throttled");
    } finally {
      await server.stop();
    }
  });

  it("with an https issuer the SSO cookie is __Host- and Secure", async () => {
    const { server, url } = await startWithIssuer({}, "https");
    try {
      const admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
      const clientId = (await registerClient(url, admin)).clientId;
      const user = await signUpAndLogin(url);
      const { challenge } = pkce();
      const browser = new HttpBrowser();
      const signIn = await browser.follow(
        `${url}/oidc/authorize?${new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`,
        url,
      );
      await browser.submit(
        signIn.url,
        signIn.text,
        "/signin",
        { login: user.username, password: user.password },
        url,
      );
      const sso = browser.setCookies.find((cookie) => cookie.startsWith("__Host-gatehouse_sso="))!;
      expect(sso).toMatch(/; Secure/);
      expect(sso).toMatch(/; HttpOnly/);
      expect(sso).toMatch(/; SameSite=Lax/);
      expect(sso).toMatch(/; Path=\//);
    } finally {
      await server.stop();
    }
  });
});

describe("guessing a client's secret at the OAuth endpoints", () => {
  it("spends per-client budgets: the token endpoint and introspection share one, client credentials the RPC's", async () => {
    const { server, url } = await startWithIssuer({ RATE_LIMIT_SENSITIVE_PER_MINUTE: "3" });
    try {
      const admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
      const { clientId } = await registerClient(url, admin, { type: "OIDC_CLIENT_TYPE_CONFIDENTIAL" });
      const basic = `Basic ${Buffer.from(`${clientId}:wrong-secret`).toString("base64")}`;
      const post = (path: string, form: Record<string, string>, authorization = basic) =>
        fetch(`${url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization },
          body: new URLSearchParams(form),
        });
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        statuses.push(
          (await post("/oidc/token", { grant_type: "refresh_token", refresh_token: "x" })).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401]);
      const fourth = await post("/oidc/introspect", { token: "x" });
      expect(fourth.status).toBe(429);
      expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(0);

      // A service account's secret: the token endpoint's client_credentials is the RPC's other door.
      const account = "guessed-worker";
      const serviceAccount = (
        await ok(url, "gatehouse.v1.ServiceRegistryService/CreateServiceAccount", { name: account }, admin)
      ).serviceAccount;
      const guess = `Basic ${Buffer.from(`${serviceAccount.clientId}:wrong`).toString("base64")}`;
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(
          (
            await fails(url, `${AUTH}/ClientCredentialsToken`, {
              clientId: serviceAccount.clientId,
              clientSecret: "wrong",
            })
          ).code,
        ).toBe("unauthenticated");
      }
      expect((await post("/oidc/token", { grant_type: "client_credentials" }, guess)).status).toBe(401);
      expect((await post("/oidc/token", { grant_type: "client_credentials" }, guess)).status).toBe(429);
    } finally {
      await server.stop();
    }
  });
});
