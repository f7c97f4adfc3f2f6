import type { IdentityRef } from "../ports/identity-provider.ts";

/** What the provider says of a refresh or offline token, without using it up. */
export type TokenInspection =
  | {
      readonly active: true;
      /** The provider's subject: Gatehouse's user id (built-in) or Keycloak's. */
      readonly subject: string;
      readonly clientId: string;
      readonly sessionId: string;
      readonly offline: boolean;
      readonly expiresAt: Date | undefined;
    }
  | {
      readonly active: false;
      /** "inactive": unknown, expired, rotated or revoked; "foreign_client": Gatehouse cannot refresh it. */
      readonly reason: "inactive" | "foreign_client";
    };

export interface MintedTokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  /** The rotated refresh token: store it, the old one is spent. */
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date | undefined;
  readonly sessionId: string;
  /** The provider's subject of the tokens. */
  readonly subject: string;
}

export type MintOutcome =
  | { readonly ok: true; readonly tokens: MintedTokens }
  /** The provider refused the stored token (revoked, expired, session ended): it will never work again. */
  | { readonly ok: false; readonly reason: string };

export type OfflineOutcome =
  | {
      readonly ok: true;
      readonly refreshToken: string;
      readonly sessionId: string;
      readonly expiresAt: Date | undefined;
    }
  | { readonly ok: false; readonly reason: "invalid_credentials" | "invalid_otp" | "totp_required" };

/** Where the call comes from (the built-in provider records it on the session). */
export interface MintClient {
  readonly ip: string;
  readonly userAgent: string;
}

/**
 * The identity provider as the token vault needs it. Failures other than a
 * refused token (provider unreachable, a scope it will not grant) are thrown
 * as DomainErrors and leave the entry as it is.
 */
export interface VaultTokenProvider {
  /** The OAuth client Gatehouse refreshes tokens as (an entry's client id when none is given). */
  readonly ownClientId: string;
  /** The provider's subject for a Gatehouse user (to check whose a token is). */
  subjectOf(user: { readonly id: string; readonly externalId: string }): string;
  inspect(token: string): Promise<TokenInspection>;
  /** A refresh grant with the stored token; `scopes` narrows the access token (empty: as granted). */
  mint(
    token: string,
    request: { readonly scopes: readonly string[]; readonly client: MintClient },
  ): Promise<MintOutcome>;
  /** Checks the password (and TOTP code) and obtains an offline token for the account. */
  requestOffline(
    account: IdentityRef,
    credentials: { readonly password: string; readonly totpCode: string | undefined },
    client: MintClient,
  ): Promise<OfflineOutcome>;
  /** Revokes the token (and the offline session it holds). A token already dead is not an error. */
  revoke(token: string): Promise<void>;
}
