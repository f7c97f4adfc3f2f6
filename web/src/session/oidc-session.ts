import * as oauth from "oauth4webapi";
import type { FrontendConfig } from "./frontend-config.ts";

/** Which app a sign-in returns to: each has its own registered redirect URI. */
export type AppArea = "console" | "account";

interface Tokens {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** What survives the redirect to the provider and back (sessionStorage): never a token. */
interface PendingSignIn {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo: string;
}

const PENDING_KEY = "gatehouse.pending-sign-in";
const SIGNED_OUT_KEY = "gatehouse.signed-out";

/** True once after signOut's round trip through the provider (then forgotten). */
export function takeSignedOutNotice(): boolean {
  const set = sessionStorage.getItem(SIGNED_OUT_KEY) !== null;
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  return set;
}
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

export type SessionListener = () => void;

/**
 * The OIDC authorization code flow with PKCE (oauth4webapi) against whichever provider Gatehouse
 * runs. Tokens live in this object only: not in localStorage, not in cookies, so a script injected
 * into another tab or a stolen disk image finds none. A reload signs in again (silently, while the
 * provider's own session lasts).
 */
export class OidcSession {
  private server: oauth.AuthorizationServer | undefined;
  private tokens: Tokens | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<SessionListener>();
  private readonly client: oauth.Client;
  private expired = false;

  constructor(readonly config: FrontendConfig) {
    this.client = { client_id: config.clientId };
  }

  get signedIn(): boolean {
    return this.tokens !== undefined;
  }

  /** True once a refresh failed: the person must sign in again. */
  get sessionExpired(): boolean {
    return this.expired;
  }

  get accessToken(): string | undefined {
    return this.tokens?.accessToken;
  }

  /** The provider's session id (the access token's `sid`), to mark "this device" among sessions. */
  get sessionId(): string | undefined {
    const payload = this.tokens?.accessToken.split(".")[1];
    if (payload === undefined) return undefined;
    try {
      const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
      const sid = (JSON.parse(json) as { sid?: unknown }).sid;
      return typeof sid === "string" ? sid : undefined;
    } catch {
      return undefined;
    }
  }

  subscribe(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  redirectUri(area: AppArea): string {
    return `${window.location.origin}/${area}/callback`;
  }

  /** Sends the browser to the provider's sign-in page. */
  async signIn(area: AppArea, returnTo: string): Promise<void> {
    const server = await this.discover();
    const pending: PendingSignIn = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier: oauth.generateRandomCodeVerifier(),
      returnTo,
    };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(server.authorization_endpoint!);
    url.searchParams.set("client_id", this.client.client_id);
    url.searchParams.set("redirect_uri", this.redirectUri(area));
    url.searchParams.set("response_type", "code");
    url.searchParams.set("scope", "openid profile email");
    url.searchParams.set("state", pending.state);
    url.searchParams.set("nonce", pending.nonce);
    url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(pending.codeVerifier));
    url.searchParams.set("code_challenge_method", "S256");
    window.location.assign(url.href);
  }

  /** Redeems the code the provider sent back; returns the path to go on to. */
  async completeSignIn(area: AppArea, callbackUrl: URL): Promise<string> {
    const server = await this.discover();
    const stored = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    if (stored === null) throw new Error("This sign-in was not started here, or was already used.");
    const pending = JSON.parse(stored) as PendingSignIn;
    const parameters = oauth.validateAuthResponse(server, this.client, callbackUrl, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      this.client,
      oauth.None(),
      parameters,
      this.redirectUri(area),
      pending.codeVerifier,
      this.options(),
    );
    const result = await oauth.processAuthorizationCodeResponse(server, this.client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    this.accept(result);
    return pending.returnTo.startsWith(`/${area}/`) ? pending.returnTo : `/${area}/`;
  }

  /** Forgets the tokens and sends the browser to the provider's end-session endpoint. */
  async signOut(area: AppArea): Promise<void> {
    const server = await this.discover();
    const idToken = this.tokens?.idToken;
    this.clear();
    // Exactly a registered post-logout URI (no query): the notice travels in sessionStorage.
    const returnTo = `${window.location.origin}/${area}/`;
    sessionStorage.setItem(SIGNED_OUT_KEY, "1");
    if (server.end_session_endpoint === undefined) {
      window.location.assign(returnTo);
      return;
    }
    const url = new URL(server.end_session_endpoint);
    url.searchParams.set("client_id", this.client.client_id);
    url.searchParams.set("post_logout_redirect_uri", returnTo);
    if (idToken !== undefined) url.searchParams.set("id_token_hint", idToken);
    window.location.assign(url.href);
  }

  private async discover(): Promise<oauth.AuthorizationServer> {
    if (this.server === undefined) {
      const issuer = new URL(this.config.issuer);
      const response = await oauth.discoveryRequest(issuer, { ...this.options(), algorithm: "oidc" });
      this.server = await oauth.processDiscoveryResponse(issuer, response);
    }
    return this.server;
  }

  /** Plain http is allowed for a loopback issuer only (development and tests). */
  private options(): { [oauth.allowInsecureRequests]?: boolean } {
    const { protocol, hostname } = new URL(this.config.issuer);
    const loopback = hostname === "localhost" || hostname === "127.0.0.1" || hostname === "[::1]";
    return protocol === "http:" && loopback ? { [oauth.allowInsecureRequests]: true } : {};
  }

  private accept(result: oauth.TokenEndpointResponse): void {
    const expiresIn = result.expires_in ?? 300;
    this.tokens = {
      accessToken: result.access_token,
      refreshToken: result.refresh_token ?? this.tokens?.refreshToken,
      idToken: result.id_token ?? this.tokens?.idToken,
      expiresAt: Date.now() + expiresIn * 1000,
    };
    this.expired = false;
    this.scheduleRefresh(expiresIn * 1000);
    this.notify();
  }

  private scheduleRefresh(lifetimeMs: number): void {
    clearTimeout(this.refreshTimer);
    if (this.tokens?.refreshToken === undefined) return;
    const delay = Math.max(5_000, Math.min(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs * 0.75));
    this.refreshTimer = setTimeout(() => void this.refresh(), delay);
  }

  private async refresh(): Promise<void> {
    const refreshToken = this.tokens?.refreshToken;
    if (refreshToken === undefined) return;
    try {
      const server = await this.discover();
      const response = await oauth.refreshTokenGrantRequest(
        server,
        this.client,
        oauth.None(),
        refreshToken,
        this.options(),
      );
      this.accept(await oauth.processRefreshTokenResponse(server, this.client, response));
    } catch {
      // The provider's session ended (signed out elsewhere, disabled, expired): ask to sign in again.
      this.clear();
      this.expired = true;
      this.notify();
    }
  }

  private clear(): void {
    clearTimeout(this.refreshTimer);
    this.tokens = undefined;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
