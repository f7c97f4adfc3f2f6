import { DomainError, isDomainError } from "../errors.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { RevocationStore } from "./revocation-store.ts";

/** A logout token whose signature, issuer, audience, lifetime and shape have been checked. */
export interface LogoutTokenClaims {
  readonly tokenId: string;
  /** The provider's session (`sid`); undefined when the token names only the user. */
  readonly sessionId: string | undefined;
  /** The provider's user id (`sub`); undefined when the token names only the session. */
  readonly subject: string | undefined;
  readonly issuedAt: Date;
}

/**
 * Checks an OIDC Back-Channel Logout 1.0 logout token (§2.6): signature
 * against the provider's keys, `iss`, `aud` (one of the clients that send
 * here), `iat`, the back-channel logout `events` member, `sid` or `sub`, and
 * no `nonce`. Throws invalid_argument for a token that fails, unavailable
 * while the keys cannot be fetched.
 */
export interface LogoutTokenVerifier {
  verify(logoutToken: string): Promise<LogoutTokenClaims>;
  /** How long after `iat` a token is accepted: its `jti` is remembered that long. */
  readonly maxAgeMs: number;
}

export interface BackchannelLogoutDeps {
  readonly verifier: LogoutTokenVerifier;
  readonly store: CoordinationStore;
  readonly revocations: RevocationStore;
  /** The local user of a provider user, if linked. */
  readonly linkedUserIdFor: (externalId: string) => Promise<string | undefined>;
  /** How long a revoked session's access tokens can still be presented. */
  readonly sessionRevocationMs: number;
  readonly now?: () => number;
}

/**
 * The provider told Gatehouse over the back channel that a session ended:
 * the session (or, for a token naming only the user, every token of the
 * user issued until then) is revoked through the change feed, so every
 * replica denies it. Each token is accepted once (its `jti`, remembered in
 * the coordination store for as long as it could be accepted).
 */
export class BackchannelLogout {
  private readonly deps: BackchannelLogoutDeps;
  private readonly now: () => number;

  constructor(deps: BackchannelLogoutDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /**
   * The receiver's answer: revoked, refused (any check failed: nothing was
   * revoked), or unavailable (the provider's keys cannot be fetched now).
   * Other failures throw.
   */
  async handle(logoutToken: string): Promise<{
    readonly outcome: "revoked" | "refused" | "unavailable";
    readonly reason?: string;
    readonly message?: string;
  }> {
    try {
      await this.receive(logoutToken);
      return { outcome: "revoked" };
    } catch (error) {
      if (!isDomainError(error)) throw error;
      if (error.kind === "invalid_argument")
        return { outcome: "refused", reason: error.reason, message: error.message };
      if (error.kind === "unavailable") return { outcome: "unavailable", reason: error.reason };
      throw error;
    }
  }

  async receive(logoutToken: string): Promise<void> {
    const claims = await this.deps.verifier.verify(logoutToken);
    const fresh = await this.deps.store.setIfAbsent(
      `backchannel-logout:jti:${claims.tokenId}`,
      "1",
      this.deps.verifier.maxAgeMs + 60_000,
    );
    if (!fresh) {
      throw new DomainError("invalid_argument", "logout_token_replayed", "this logout token was used before");
    }
    if (claims.sessionId !== undefined) {
      await this.deps.revocations.revokeSession(
        claims.sessionId,
        new Date(this.now() + this.deps.sessionRevocationMs),
      );
      return;
    }
    const userId = claims.subject === undefined ? undefined : await this.deps.linkedUserIdFor(claims.subject);
    if (userId !== undefined)
      await this.deps.revocations.revokeSubjectTokensIssuedBefore(userId, claims.issuedAt);
  }
}
