import type { KeycloakTokens } from "./keycloak-oidc.ts";

/** How long checked credentials wait for startSession / createMfaChallenge (the same request). */
const HOLD_MS = 60_000;

interface Held<T> {
  readonly value: T;
  readonly expiresAt: number;
}

/**
 * The IdentityProvider contract splits a sign-in in two (checkPassword, then
 * startSession or createMfaChallenge after the caller's own checks), but
 * Keycloak's grant checks and issues in one step. What the first half got is
 * held here, in process and briefly: Keycloak's tokens until startSession
 * takes them, or the password until createMfaChallenge seals it. Tokens never
 * taken (the caller refused the sign-in) are handed to `abandon`, which ends
 * their Keycloak session.
 */
export class PendingSignIns {
  private readonly tokens = new Map<string, Array<Held<{ tokens: KeycloakTokens; externalId: string }>>>();
  private readonly passwords = new Map<string, Held<{ login: string; password: string }>>();
  private readonly abandon: (tokens: KeycloakTokens) => void;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(abandon: (tokens: KeycloakTokens) => void, now: () => number = Date.now) {
    this.abandon = abandon;
    this.now = now;
    this.sweeper = setInterval(() => this.sweep(), HOLD_MS / 2);
    this.sweeper.unref();
  }

  holdTokens(userId: string, tokens: KeycloakTokens, externalId: string): void {
    const list = this.tokens.get(userId) ?? [];
    list.push({ value: { tokens, externalId }, expiresAt: this.now() + HOLD_MS });
    this.tokens.set(userId, list);
  }

  takeTokens(userId: string): { tokens: KeycloakTokens; externalId: string } | undefined {
    const list = this.tokens.get(userId);
    const held = list?.shift();
    if (list !== undefined && list.length === 0) this.tokens.delete(userId);
    return held?.value;
  }

  holdPassword(userId: string, login: string, password: string): void {
    this.passwords.set(userId, { value: { login, password }, expiresAt: this.now() + HOLD_MS });
  }

  takePassword(userId: string): { login: string; password: string } | undefined {
    const held = this.passwords.get(userId);
    this.passwords.delete(userId);
    return held === undefined || held.expiresAt <= this.now() ? undefined : held.value;
  }

  private sweep(): void {
    const now = this.now();
    for (const [userId, list] of this.tokens) {
      const live = list.filter((held) => held.expiresAt > now);
      for (const held of list) if (held.expiresAt <= now) this.abandon(held.value.tokens);
      if (live.length === 0) this.tokens.delete(userId);
      else this.tokens.set(userId, live);
    }
    for (const [userId, held] of this.passwords) if (held.expiresAt <= now) this.passwords.delete(userId);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const list of this.tokens.values()) for (const held of list) this.abandon(held.value.tokens);
    this.tokens.clear();
    this.passwords.clear();
  }
}
