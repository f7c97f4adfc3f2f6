import { decodeJwt } from "jose";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";

/** Offline tokens carry no `exp`: their jti is remembered this long (Keycloak's offline idle default, 30 days). */
const NO_EXPIRY_TTL_MS = 30 * 86_400_000;

interface RefreshClaims {
  readonly jti: string;
  readonly sid: string;
  readonly ttlMs: number;
}

/**
 * Every Keycloak refresh token Gatehouse has spent, by `jti`, until it
 * expires, in the coordination store (so every replica knows). Keycloak's
 * rotation catches only the token just before the current one (after two
 * rotations the first is accepted again); this catches any earlier one.
 */
export class SpentRefreshTokens {
  private readonly store: CoordinationStore;
  private readonly clockSkewSeconds: number;
  private readonly now: () => number;

  constructor(store: CoordinationStore, clockSkewSeconds: number, now: () => number = Date.now) {
    this.store = store;
    this.clockSkewSeconds = clockSkewSeconds;
    this.now = now;
  }

  /**
   * Marks the token spent before it is used. `fresh: false` (with the session
   * recorded when it was first spent) means it was spent before: reuse.
   * `release` takes the mark back when the spend did not happen (Keycloak
   * could not be reached).
   */
  async spend(
    token: string,
  ): Promise<
    { readonly fresh: true; release(): Promise<void> } | { readonly fresh: false; readonly sessionId: string }
  > {
    const claims = this.claims(token);
    if (claims === undefined) return { fresh: true, release: async () => {} };
    const key = this.key(claims.jti);
    if (await this.store.setIfAbsent(key, claims.sid, claims.ttlMs)) {
      return { fresh: true, release: () => this.store.delete(key) };
    }
    return { fresh: false, sessionId: (await this.store.get(key)) || claims.sid };
  }

  /** Records a token spent elsewhere (the token vault's mints). */
  async record(token: string): Promise<void> {
    const claims = this.claims(token);
    if (claims !== undefined) await this.store.set(this.key(claims.jti), claims.sid, claims.ttlMs);
  }

  private key(jti: string): string {
    return `kc:spent-refresh:${jti}`;
  }

  /** Unverified: Keycloak checks the token when it is used; only its jti (random, secret with it) keys the mark. */
  private claims(token: string): RefreshClaims | undefined {
    try {
      const payload = decodeJwt(token);
      if (typeof payload.jti !== "string" || payload.jti === "") return undefined;
      const ttlMs =
        typeof payload.exp === "number"
          ? Math.max(1000, (payload.exp + this.clockSkewSeconds) * 1000 - this.now())
          : NO_EXPIRY_TTL_MS;
      return { jti: payload.jti, sid: typeof payload.sid === "string" ? payload.sid : "", ttlMs };
    } catch {
      return undefined;
    }
  }
}
