/**
 * A relying party of the built-in OpenID Provider (issue #13): a web app, SPA, CLI or
 * backend that signs users in with the authorization code flow, or a service using
 * client credentials. Registered through the admin API; the console is registered at
 * start as a first-party public client.
 */
export interface OidcClient {
  readonly id: string;
  /** The OAuth `client_id`: unique, URL-safe. */
  readonly clientId: string;
  readonly name: string;
  /** Public clients (SPAs, CLIs) have no secret and must use PKCE; confidential ones authenticate. */
  readonly type: "public" | "confidential";
  /** Matched exactly (RFC 9700 §2.1): no wildcards, no prefix matching. */
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly grantTypes: readonly OidcGrantType[];
  /** The scopes the client may ask for (openid, profile, email, phone, offline_access). */
  readonly scopes: readonly string[];
  /** First-party clients skip the consent page. */
  readonly firstParty: boolean;
  /** OIDC Back-Channel Logout 1.0: where logout tokens are POSTed; empty for none. */
  readonly backchannelLogoutUri: string;
  /** `id_token_signed_response_alg`: RS256 (OIDC's mandatory algorithm) or ES256. */
  readonly idTokenSigningAlg: "RS256" | "ES256";
  /** How a confidential client authenticates at the token endpoint; "none" for public clients. */
  readonly tokenEndpointAuthMethod: OidcClientAuthMethod;
  /** For private_key_jwt: the client's public keys (a JWK Set), or empty. */
  readonly jwks: string;
  readonly disabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly secretRotatedAt: Date | undefined;
}

export type OidcGrantType = "authorization_code" | "refresh_token" | "client_credentials";

export type OidcClientAuthMethod = "none" | "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** How the OpenID Provider's endpoints find registered clients. */
export interface OidcClientDirectory {
  /** The client with this `client_id`, or undefined (also for a disabled client). */
  find(clientId: string): Promise<OidcClient | undefined>;
  /**
   * Checks a confidential client's secret (constant time against the stored hash).
   * False for an unknown, disabled or public client.
   */
  verifySecret(clientId: string, secret: string): Promise<boolean>;
}
