import type { Page } from "../pagination.ts";
import type { OidcClient, OidcClientAuthMethod, OidcGrantType } from "./oidc-client.ts";

/** What a client is made of, apart from its id, secret and dates. */
export interface OidcClientSettings {
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly grantTypes: readonly OidcGrantType[];
  readonly scopes: readonly string[];
  readonly firstParty: boolean;
  readonly backchannelLogoutUri: string;
  readonly idTokenSigningAlg: "RS256" | "ES256";
  readonly tokenEndpointAuthMethod: OidcClientAuthMethod;
  readonly jwks: string;
  readonly disabled: boolean;
}

export interface NewOidcClient extends OidcClientSettings {
  readonly clientId: string;
  readonly type: OidcClient["type"];
  /** SHA-256 of the secret, or undefined for a client without one. */
  readonly secretHash: string | undefined;
}

/** The oidc_clients table. */
export interface OidcClientRepository {
  /** Throws already_exists (client_id taken). */
  create(client: NewOidcClient): Promise<OidcClient>;
  /**
   * Inserts the client unless one with its client_id exists; then changes only the
   * fields in `managed` (so that every start of every replica may run it, at once).
   */
  ensure(client: NewOidcClient, managed: readonly (keyof OidcClientSettings)[]): Promise<OidcClient>;
  get(id: string): Promise<OidcClient | undefined>;
  findByClientId(
    clientId: string,
  ): Promise<{ client: OidcClient; secretHash: string | undefined } | undefined>;
  /** Ordered by (created_at, id). */
  list(query: { pageSize: number; pageToken: string }): Promise<Page<OidcClient>>;
  /** Replaces every setting (the caller merged the changes and checked the whole). */
  update(id: string, settings: OidcClientSettings): Promise<OidcClient | undefined>;
  /** Undefined removes the secret. */
  setSecretHash(id: string, secretHash: string | undefined): Promise<OidcClient | undefined>;
  delete(id: string): Promise<boolean>;
}
