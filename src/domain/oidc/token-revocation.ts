import type { DecisionEngine } from "../decision/decision-engine.ts";
import { hashOpaqueToken } from "../opaque-token.ts";
import type { IdentityProvider } from "../ports/identity-provider.ts";
import type { SessionStore } from "../ports/session-store.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import { OAuthError } from "./oauth-error.ts";
import type { OidcClient } from "./oidc-client.ts";
import type { TokenTypeHint } from "./token-introspection.ts";

const looksLikeJws = (token: string) => token.split(".").length === 3;

const notYours = () => new OAuthError("invalid_request", "the token was not issued to this client");

/**
 * Token revocation (RFC 7009). A refresh token ends its whole session,
 * through the same path as Logout (the session's access tokens are refused
 * on every replica through the revocation feed); an access token is refused
 * by its `jti` until it expires. An unknown, expired or already revoked token
 * is success (§2.2); a token of another client is refused (§2.1).
 */
export class TokenRevocation {
  private readonly engine: Pick<DecisionEngine, "decide">;
  private readonly sessions: Pick<SessionStore, "findRefreshToken"> | undefined;
  private readonly provider: Pick<IdentityProvider, "endSession">;
  private readonly revocations: Pick<RevocationStore, "revokeToken">;
  private readonly clockSkewSeconds: number;

  constructor(deps: {
    engine: Pick<DecisionEngine, "decide">;
    sessions: Pick<SessionStore, "findRefreshToken"> | undefined;
    provider: Pick<IdentityProvider, "endSession">;
    revocations: Pick<RevocationStore, "revokeToken">;
    clockSkewSeconds: number;
  }) {
    this.engine = deps.engine;
    this.sessions = deps.sessions;
    this.provider = deps.provider;
    this.revocations = deps.revocations;
    this.clockSkewSeconds = deps.clockSkewSeconds;
  }

  /** The hint is not needed: the token's shape (a JWS or an opaque string) tells where it can be. */
  async revoke(client: OidcClient, token: string, _hint: TokenTypeHint): Promise<void> {
    if (token === "") return;
    if (looksLikeJws(token)) await this.revokeAccessToken(client, token);
    else await this.revokeRefreshToken(client, token);
  }

  private async revokeAccessToken(client: OidcClient, token: string): Promise<void> {
    const decision = await this.engine.decide({ token });
    // Invalid, expired or revoked already: nothing is left to revoke.
    if (decision.outcome === "unauthenticated") return;
    if (decision.claims.clientId !== client.clientId) throw notYours();
    const until = new Date((decision.claims.expiresAt + this.clockSkewSeconds) * 1000);
    await this.revocations.revokeToken(decision.claims.tokenId, until);
  }

  private async revokeRefreshToken(client: OidcClient, token: string): Promise<void> {
    if (this.sessions === undefined) return;
    const found = await this.sessions.findRefreshToken(hashOpaqueToken(token));
    if (found === undefined) return;
    if (found.grant?.clientId !== client.clientId) throw notYours();
    await this.provider.endSession({ refreshToken: token }, "oidc_token_revocation");
  }
}
