import * as client from "openid-client";

export interface BrowserTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly sessionId: string;
}

/** Cookies as a browser keeps them between Keycloak's pages (name → value; paths ignored). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

const decodeEntities = (text: string) =>
  text
    .replace(/&amp;/g, "&")
    .replace(/&#x3d;/gi, "=")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/**
 * Tokens of a realm client through the real authorization code flow with
 * PKCE (S256), as a browser gets them: Keycloak's own login page is fetched,
 * its form posted with the user's password and the page's cookies, the
 * redirect's code exchanged through openid-client. `scope` with
 * `offline_access` yields an offline token.
 */
export async function authorizationCodeTokens(options: {
  readonly issuer: string;
  readonly clientId: string;
  /** Undefined for a public client. */
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly username: string;
  readonly password: string;
  readonly scope?: string;
}): Promise<BrowserTokens> {
  const configuration = await client.discovery(
    new URL(options.issuer),
    options.clientId,
    options.clientSecret,
    options.clientSecret === undefined ? client.None() : client.ClientSecretPost(options.clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(configuration, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? "openid",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  });
  const jar = new CookieJar();
  const page = await fetch(authorizationUrl, { redirect: "manual" });
  jar.take(page);
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || action === undefined)
    throw new Error(`Keycloak's login page: HTTP ${page.status}, no login form`);
  const posted = await fetch(decodeEntities(action), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    body: new URLSearchParams({ username: options.username, password: options.password, credentialId: "" }),
  });
  await posted.body?.cancel();
  const location = posted.headers.get("location") ?? "";
  if (posted.status !== 302 || !location.startsWith(options.redirectUri))
    throw new Error(`Keycloak's login form: HTTP ${posted.status}, not redirected to the client`);
  const tokens = await client.authorizationCodeGrant(configuration, new URL(location), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? "",
    sessionId: typeof tokens.session_state === "string" ? tokens.session_state : "",
  };
}
