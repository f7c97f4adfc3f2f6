import type { DecisionEngine } from "../decision/decision-engine.ts";
import { hashOpaqueToken } from "../opaque-token.ts";
import type { SessionStore } from "../ports/session-store.ts";
import type { OidcClient } from "./oidc-client.ts";

/** RFC 7662 §2.2: `active` and, for an active token, what it is. */
export type IntrospectionResponse =
  | { readonly active: false }
  | ({ readonly active: true } & Record<string, unknown>);

export type TokenTypeHint = "access_token" | "refresh_token" | undefined;

const INACTIVE: IntrospectionResponse = { active: false };

/** Refresh tokens are opaque base64url strings of 43 characters; an access token is a JWS. */
const looksLikeJws = (token: string) => token.split(".").length === 3;

/**
 * Token introspection (RFC 7662), the standard twin of VerifyToken: access
 * tokens go through the same decision engine (signature, expiry, revocation
 * on every replica, the subject's state), refresh tokens through the session
 * store (a rotated, expired or revoked one, or one of a disabled user, is
 * inactive). A client learns about its own tokens only: another client's
 * token is `active: false` (RFC 7662 §4, no token scanning through us).
 */
export class TokenIntrospection {
  private readonly engine: Pick<DecisionEngine, "decide">;
  private readonly sessions: Pick<SessionStore, "findRefreshToken"> | undefined;
  private readonly issuer: string;
  private readonly now: () => number;

  constructor(deps: {
    engine: Pick<DecisionEngine, "decide">;
    /** Undefined under Keycloak (its refresh tokens are Keycloak's). */
    sessions: Pick<SessionStore, "findRefreshToken"> | undefined;
    issuer: string;
    now?: () => number;
  }) {
    this.engine = deps.engine;
    this.sessions = deps.sessions;
    this.issuer = deps.issuer;
    this.now = deps.now ?? Date.now;
  }

  /** The hint only picks what is tried first (RFC 7662 §2.1). */
  async introspect(client: OidcClient, token: string, hint: TokenTypeHint): Promise<IntrospectionResponse> {
    if (token === "") return INACTIVE;
    const refreshFirst = hint === "refresh_token" || (hint === undefined && !looksLikeJws(token));
    const order = refreshFirst
      ? [this.refreshToken, this.accessToken]
      : [this.accessToken, this.refreshToken];
    for (const look of order) {
      const found = await look.call(this, client, token);
      if (found !== undefined) return found;
    }
    return INACTIVE;
  }

  /** Undefined when the token is not an access token we can verify at all. */
  private async accessToken(client: OidcClient, token: string): Promise<IntrospectionResponse | undefined> {
    if (!looksLikeJws(token)) return undefined;
    const decision = await this.engine.decide({ token });
    if (decision.outcome === "unauthenticated") return INACTIVE;
    const { claims, subject } = decision;
    if (claims.clientId !== client.clientId) return INACTIVE;
    return {
      active: true,
      token_type: "Bearer",
      client_id: claims.clientId,
      sub: claims.subjectId,
      ...(subject.user === undefined ? {} : { username: subject.user.username }),
      ...(claims.scope === undefined ? {} : { scope: claims.scope }),
      ...(claims.sessionId === "" ? {} : { sid: claims.sessionId }),
      iss: this.issuer,
      iat: claims.issuedAt,
      exp: claims.expiresAt,
      jti: claims.tokenId,
    };
  }

  private async refreshToken(client: OidcClient, token: string): Promise<IntrospectionResponse | undefined> {
    if (this.sessions === undefined || looksLikeJws(token)) return undefined;
    const found = await this.sessions.findRefreshToken(hashOpaqueToken(token));
    if (found === undefined) return undefined;
    const { session, grant } = found;
    const live =
      !found.rotated &&
      found.userActive &&
      session.revokedAt === undefined &&
      found.expiresAt.getTime() > this.now() &&
      session.expiresAt.getTime() > this.now();
    // Login's chains carry no grant: they belong to no registered client.
    if (!live || grant === undefined || grant.clientId !== client.clientId) return INACTIVE;
    return {
      active: true,
      token_type: "refresh_token",
      client_id: grant.clientId,
      sub: session.userId,
      scope: grant.scope,
      sid: session.id,
      iss: this.issuer,
      exp: Math.floor(Math.min(found.expiresAt.getTime(), session.expiresAt.getTime()) / 1000),
    };
  }
}
