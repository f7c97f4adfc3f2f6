import type { ClientInfo, IssuedTokens, RefreshResult } from "./identity-provider.ts";
import type { TokenGrant } from "./session-store.ts";

/** A live sign-in session as the OpenID Provider needs it: who, since when, and how they signed in. */
export interface LiveSession {
  readonly id: string;
  readonly userId: string;
  /** When the user authenticated (the session's start): `auth_time`. */
  readonly authTime: Date;
  /** RFC 8176 values: "pwd", "otp". */
  readonly amr: readonly string[];
}

/**
 * The built-in provider's sessions, seen from the OpenID Provider: the same
 * sessions Login opens, checked on every use (a revoked or expired session, or
 * a disabled account, is no session, on any replica), and the tokens a relying
 * party gets from one.
 */
export interface OidcSessions {
  live(sessionId: string): Promise<LiveSession | undefined>;
  /**
   * Undefined when the session is no longer live. `offline` (the offline_access scope): the
   * refresh token starts an offline session of its own, which outlives this one's logout.
   */
  issueForClient(
    sessionId: string,
    grant: TokenGrant,
    options: { readonly withRefreshToken: boolean; readonly offline?: boolean },
  ): Promise<(IssuedTokens & { readonly tokenId: string }) | undefined>;
  /** The grant a refresh token's chain carries, without rotating it; undefined for unknown tokens or Login's. */
  grantOf(refreshToken: string): Promise<TokenGrant | undefined>;
  refresh(refreshToken: string, client: ClientInfo): Promise<RefreshResult>;
  end(
    sessionId: string,
    reason: string,
  ): Promise<{ readonly sessionId: string; readonly userId: string } | undefined>;
}

/** Signs ID tokens with the key rings (RS256 by default, ES256 on the client's setting) and checks hints. */
export interface IdTokenSigner {
  sign(claims: Record<string, unknown>, algorithm: "RS256" | "ES256"): Promise<string>;
  /**
   * The claims of an ID token we issued (signature and issuer checked; an
   * expired one is still a valid `id_token_hint`, OIDC RP-Initiated Logout
   * §2), or undefined.
   */
  verifyHint(idToken: string): Promise<Record<string, unknown> | undefined>;
}
