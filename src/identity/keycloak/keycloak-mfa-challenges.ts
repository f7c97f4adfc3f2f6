import { hashOpaqueToken, newOpaqueToken } from "../../domain/opaque-token.ts";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";
import { Sealer } from "../local/sealer.ts";

/** What VerifyMfa needs to finish a Keycloak sign-in: Keycloak checks password and code in one grant. */
export interface PendingMfa {
  readonly userId: string;
  readonly login: string;
  readonly password: string;
}

/** Wrong answers one challenge takes before it is void. */
const MAX_ATTEMPTS = 5;

/**
 * MFA challenges under Keycloak. Keycloak's direct grant checks the password
 * and the TOTP code together, so the challenge must carry the password from
 * Login to VerifyMfa. It is kept in the coordination store (any replica can
 * answer) sealed with AES-256-GCM under a key derived from the challenge
 * token itself: the store alone cannot open it, the token alone finds
 * nothing, and the entry is gone when the challenge is answered, voided or
 * expired (the store's TTL). While the store is unreachable, MFA sign-in
 * answers UNAVAILABLE (coordination_unavailable).
 */
export class KeycloakMfaChallenges {
  private readonly store: CoordinationStore;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(store: CoordinationStore, ttlMs: number, now: () => number = Date.now) {
    this.store = store;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  private static sealer(token: string): Sealer {
    return new Sealer(Buffer.from(token, "base64url"), "keycloak-mfa-challenge");
  }

  async create(pending: PendingMfa): Promise<{ mfaToken: string; expiresAt: Date }> {
    const mfaToken = newOpaqueToken();
    const key = hashOpaqueToken(mfaToken);
    const sealed = KeycloakMfaChallenges.sealer(mfaToken).seal(JSON.stringify(pending), key);
    await this.store.set(`kc:mfa:${key}`, sealed, this.ttlMs);
    return { mfaToken, expiresAt: new Date(this.now() + this.ttlMs) };
  }

  /**
   * Opens a live challenge and counts the attempt; undefined when it is
   * unknown, expired, used, or out of attempts (then it is deleted).
   */
  async open(mfaToken: string): Promise<PendingMfa | undefined> {
    const key = hashOpaqueToken(mfaToken);
    const sealed = await this.store.get(`kc:mfa:${key}`);
    if (sealed === undefined) return undefined;
    let pending: PendingMfa;
    try {
      pending = JSON.parse(KeycloakMfaChallenges.sealer(mfaToken).open(sealed, key)) as PendingMfa;
    } catch {
      return undefined;
    }
    const attempts = await this.store.increment(`kc:mfa:attempts:${key}`, this.ttlMs);
    if (attempts.count > MAX_ATTEMPTS) {
      await this.store.delete(`kc:mfa:${key}`);
      return undefined;
    }
    return pending;
  }

  /** Ends the challenge after a right answer; false when another request used it first. */
  async finish(mfaToken: string): Promise<boolean> {
    const key = hashOpaqueToken(mfaToken);
    const first = await this.store.setIfAbsent(`kc:mfa:used:${key}`, "1", this.ttlMs);
    await this.store.delete(`kc:mfa:${key}`);
    return first;
  }
}
