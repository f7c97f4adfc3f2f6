import * as client from "openid-client";
import { DomainError } from "../../domain/errors.ts";
import { isUnreachable, keycloakUnavailable } from "./keycloak-errors.ts";

export interface KeycloakConnection {
  /** Base URL of the server, e.g. http://127.0.0.1:8180. */
  readonly url: string;
  readonly realm: string;
  /**
   * The realm's issuer as Keycloak announces it, when its hostname is not `url` (a fixed public
   * hostname with backchannel-dynamic URLs, e.g. compose); default `<url>/realms/<realm>`.
   */
  readonly issuer?: string | undefined;
  /** The confidential client Gatehouse itself uses (password, refresh, logout, introspection). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Per-request timeout. */
  readonly timeoutMs: number;
  /** Wraps each request to Keycloak (a child span with tracing on); absent: the request alone. */
  readonly span?: KeycloakSpan | undefined;
}

/** `operation` is a fixed name ("password grant", "admin: create the user"), never a value sent. */
export type KeycloakSpan = <T>(operation: string, request: () => Promise<T>) => Promise<T>;

const untraced: KeycloakSpan = (_operation, request) => request();

/** A token-endpoint answer, reduced to what Gatehouse uses. */
export interface KeycloakTokens {
  readonly accessToken: string;
  /** Epoch ms. */
  readonly accessTokenExpiresAt: number;
  /** Empty for client credentials. */
  readonly refreshToken: string;
  /** Epoch ms; undefined when the refresh token does not expire (offline) or there is none. */
  readonly refreshTokenExpiresAt: number | undefined;
  /** Keycloak's `session_state` (the `sid` claim); empty for client credentials. */
  readonly sessionId: string;
  readonly scope: string;
}

/**
 * Keycloak refused a grant or token request with an OAuth error (RFC 6749
 * §5.2): `error` is e.g. "invalid_grant", "invalid_client",
 * "unauthorized_client". The description is Keycloak's and is not shown to
 * callers (it says things like "Account disabled").
 */
export class OAuthRejection extends Error {
  readonly error: string;
  readonly description: string;
  constructor(error: string, description: string, options?: { cause?: unknown }) {
    super(`${error}: ${description}`, options);
    this.name = "OAuthRejection";
    this.error = error;
    this.description = description;
  }
}

export const realmIssuer = (connection: Pick<KeycloakConnection, "url" | "realm">): string =>
  `${connection.url}/realms/${encodeURIComponent(connection.realm)}`;

/**
 * The OpenID Connect side of Keycloak through openid-client: discovery, the
 * password / refresh / client-credentials grants, logout with a refresh
 * token, revocation and introspection, all with Gatehouse's confidential
 * client. Discovery runs on first use and again after a failure, so
 * Gatehouse starts (and recovers) while Keycloak is down.
 */
export class KeycloakOidc {
  /** The `iss` of the realm's tokens. */
  readonly issuer: string;
  /** Gatehouse's own client (the `azp` of the tokens it gets). */
  readonly clientId: string;
  /** Where Gatehouse reaches the realm (`<url>/realms/<realm>`): discovery and ping go here. */
  private readonly realmUrl: string;
  private readonly connection: KeycloakConnection;
  private readonly now: () => number;
  private discovered: Promise<client.Configuration> | undefined;
  /** Wraps each request to Keycloak: the admin client and the token verifier use it too. */
  readonly span: KeycloakSpan;

  constructor(connection: KeycloakConnection, now: () => number = Date.now) {
    this.connection = connection;
    this.clientId = connection.clientId;
    this.span = connection.span ?? untraced;
    this.realmUrl = realmIssuer(connection);
    this.issuer = connection.issuer ?? this.realmUrl;
    this.now = now;
  }

  /** The realm's metadata; throws unavailable while Keycloak cannot be reached. */
  async configuration(): Promise<client.Configuration> {
    this.discovered ??= this.discover(this.connection.clientId, this.connection.clientSecret);
    try {
      return await this.discovered;
    } catch (error) {
      this.discovered = undefined;
      throw error;
    }
  }

  private async discover(clientId: string, clientSecret: string): Promise<client.Configuration> {
    const insecure = new URL(this.realmUrl).protocol === "http:";
    // Discovery from the back-channel URL: a metadata URL given in full is not checked against
    // the URL it came from, so the announced issuer is compared with the configured one here.
    const discoveryUrl =
      this.issuer === this.realmUrl
        ? new URL(this.issuer)
        : new URL(`${this.realmUrl}/.well-known/openid-configuration`);
    try {
      const configuration = await this.span("discovery", () =>
        client.discovery(discoveryUrl, clientId, undefined, client.ClientSecretPost(clientSecret), {
          timeout: Math.ceil(this.connection.timeoutMs / 1000),
          // Plain HTTP only for a Keycloak on loopback or in a private network (dev, CI).
          execute: insecure ? [client.allowInsecureRequests] : [],
        }),
      );
      configuration.timeout = Math.ceil(this.connection.timeoutMs / 1000);
      const metadata = configuration.serverMetadata();
      if (metadata.issuer !== this.issuer) {
        throw new DomainError(
          "internal",
          "keycloak_issuer_mismatch",
          "Keycloak announces another issuer than Gatehouse expects (KEYCLOAK_ISSUER, Keycloak's hostname)",
          { cause: new Error(`announced ${metadata.issuer}, expected ${this.issuer}`) },
        );
      }
      if (this.issuer === this.realmUrl) return configuration;
      // Keycloak's backchannel-dynamic hostname still announces some endpoints Gatehouse calls
      // (logout, revocation) under the public name, which need not resolve where Gatehouse runs.
      const backchannel: Record<string, unknown> = { ...metadata };
      for (const [key, value] of Object.entries(metadata)) {
        if (key !== "issuer" && typeof value === "string" && value.startsWith(`${this.issuer}/`))
          backchannel[key] = `${this.realmUrl}${value.slice(this.issuer.length)}`;
      }
      const rewritten = new client.Configuration(
        backchannel as client.ServerMetadata,
        clientId,
        undefined,
        client.ClientSecretPost(clientSecret),
      );
      rewritten.timeout = configuration.timeout;
      if (insecure) client.allowInsecureRequests(rewritten);
      return rewritten;
    } catch (error) {
      throw this.failure(error, "discovery");
    }
  }

  /** Another client of the same realm (client credentials of a service account). */
  private async publicConfiguration(clientId: string): Promise<client.Configuration> {
    const base = await this.configuration();
    const configuration = new client.Configuration(base.serverMetadata(), clientId, undefined, client.None());
    configuration.timeout = base.timeout;
    if (new URL(this.realmUrl).protocol === "http:") client.allowInsecureRequests(configuration);
    return configuration;
  }

  private async configurationFor(clientId: string, clientSecret: string): Promise<client.Configuration> {
    const base = await this.configuration();
    const configuration = new client.Configuration(
      base.serverMetadata(),
      clientId,
      undefined,
      client.ClientSecretPost(clientSecret),
    );
    configuration.timeout = base.timeout;
    if (new URL(this.realmUrl).protocol === "http:") client.allowInsecureRequests(configuration);
    return configuration;
  }

  /**
   * Resource-owner password grant; `totp` for users with an OTP credential
   * (Keycloak's direct grant flow); `scope` e.g. "openid offline_access".
   */
  async passwordGrant(
    username: string,
    password: string,
    totp?: string,
    scope?: string,
  ): Promise<KeycloakTokens> {
    const parameters: Record<string, string> = { username, password };
    if (totp !== undefined) parameters.totp = totp;
    if (scope !== undefined) parameters.scope = scope;
    const configuration = await this.configuration();
    try {
      return this.toTokens(
        await this.span("password grant", () =>
          client.genericGrantRequest(configuration, "password", parameters),
        ),
      );
    } catch (error) {
      throw this.failure(error, "password grant");
    }
  }

  /** `scope` narrows the new access token (Keycloak answers invalid_scope for scopes not granted). */
  /**
   * The refresh grant as Gatehouse's own client, or (`publicClientId`) as a public client of the
   * realm whose token it is (the browser's `gatehouse-web`): a public client authenticates with
   * its id alone, and Keycloak refuses another client's refresh token.
   */
  async refreshGrant(
    refreshToken: string,
    scope?: string,
    { publicClientId }: { publicClientId?: string } = {},
  ): Promise<KeycloakTokens> {
    const configuration =
      publicClientId === undefined
        ? await this.configuration()
        : await this.publicConfiguration(publicClientId);
    try {
      return this.toTokens(
        await this.span("refresh grant", () =>
          client.refreshTokenGrant(configuration, refreshToken, scope === undefined ? undefined : { scope }),
        ),
      );
    } catch (error) {
      throw this.failure(error, "refresh grant");
    }
  }

  /** Client credentials for Gatehouse's own client, or for another confidential client of the realm. */
  async clientCredentialsGrant(
    credentials?: { readonly clientId: string; readonly clientSecret: string },
    scope = "",
  ): Promise<KeycloakTokens> {
    const configuration =
      credentials === undefined
        ? await this.configuration()
        : await this.configurationFor(credentials.clientId, credentials.clientSecret);
    try {
      return this.toTokens(
        await this.span("client credentials grant", () =>
          client.clientCredentialsGrant(configuration, scope === "" ? {} : { scope }),
        ),
      );
    } catch (error) {
      throw this.failure(error, "client credentials grant");
    }
  }

  /**
   * Ends the Keycloak session of a refresh token (every client of it): POST
   * to the realm's logout endpoint with client authentication, or as the
   * public client `publicClientId` the token was issued to. A token of a
   * session that already ended is accepted too (Keycloak answers 204).
   */
  async logout(refreshToken: string, { publicClientId }: { publicClientId?: string } = {}): Promise<void> {
    const configuration = await this.configuration();
    const endpoint = configuration.serverMetadata().end_session_endpoint;
    if (endpoint === undefined)
      throw new DomainError("internal", "keycloak_no_logout", "Keycloak has no logout endpoint");
    let response: Response;
    try {
      response = await this.span("logout", () =>
        fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
          // A public client (the browser's) authenticates with its id alone; Keycloak still checks
          // the token's signature and that it was issued to that client.
          body: new URLSearchParams(
            publicClientId === undefined
              ? {
                  client_id: this.connection.clientId,
                  client_secret: this.connection.clientSecret,
                  refresh_token: refreshToken,
                }
              : { client_id: publicClientId, refresh_token: refreshToken },
          ),
          signal: AbortSignal.timeout(this.connection.timeoutMs),
        }),
      );
    } catch (error) {
      throw this.failure(error, "logout");
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const body = (await response.json().catch(() => ({}))) as {
      error?: unknown;
      error_description?: unknown;
    };
    if (response.status >= 500) throw keycloakUnavailable(new Error(`logout answered ${response.status}`));
    throw new OAuthRejection(
      typeof body.error === "string" ? body.error : `http_${response.status}`,
      typeof body.error_description === "string" ? body.error_description : "",
    );
  }

  /** One round trip to the realm (its public metadata); throws unavailable when Keycloak does not answer. */
  async ping(): Promise<void> {
    let response: Response;
    try {
      response = await this.span("ping", () =>
        fetch(this.realmUrl, { signal: AbortSignal.timeout(this.connection.timeoutMs) }),
      );
    } catch (error) {
      throw keycloakUnavailable(error);
    }
    await response.body?.cancel();
    if (!response.ok) throw keycloakUnavailable(new Error(`the realm answered ${response.status}`));
  }

  async revoke(token: string, hint: "access_token" | "refresh_token"): Promise<void> {
    const configuration = await this.configuration();
    try {
      await this.span("revocation", () =>
        client.tokenRevocation(configuration, token, { token_type_hint: hint }),
      );
    } catch (error) {
      throw this.failure(error, "revocation");
    }
  }

  async introspect(
    token: string,
    hint?: "access_token" | "refresh_token",
  ): Promise<client.IntrospectionResponse> {
    const configuration = await this.configuration();
    try {
      return await this.span("introspection", () =>
        client.tokenIntrospection(configuration, token, hint === undefined ? {} : { token_type_hint: hint }),
      );
    } catch (error) {
      throw this.failure(error, "introspection");
    }
  }

  async jwksUri(): Promise<URL> {
    const uri = (await this.configuration()).serverMetadata().jwks_uri;
    if (uri === undefined)
      throw new DomainError("internal", "keycloak_no_jwks", "Keycloak publishes no JWKS");
    return new URL(uri);
  }

  private toTokens(response: client.TokenEndpointResponse): KeycloakTokens {
    const now = this.now();
    const refreshExpiresIn = response.refresh_expires_in;
    return {
      accessToken: response.access_token,
      accessTokenExpiresAt: now + (response.expires_in ?? 0) * 1000,
      refreshToken: response.refresh_token ?? "",
      refreshTokenExpiresAt:
        typeof refreshExpiresIn === "number" && refreshExpiresIn > 0
          ? now + refreshExpiresIn * 1000
          : undefined,
      sessionId: typeof response.session_state === "string" ? response.session_state : "",
      scope: response.scope ?? "",
    };
  }

  private failure(error: unknown, what: string): Error {
    if (error instanceof DomainError || error instanceof OAuthRejection) return error;
    if (error instanceof client.ResponseBodyError && error.status < 500) {
      return new OAuthRejection(error.error, error.error_description ?? "", { cause: error });
    }
    if (isUnreachable(error)) return keycloakUnavailable(error);
    return new DomainError("internal", "identity_provider_error", `Keycloak ${what} failed`, {
      cause: error,
    });
  }
}
