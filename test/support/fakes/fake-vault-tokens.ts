import { randomUUID } from "node:crypto";
import type {
  MintOutcome,
  OfflineOutcome,
  TokenInspection,
  VaultTokenProvider,
} from "../../../src/domain/vault/vault-token-provider.ts";

interface FakeToken {
  readonly subject: string;
  readonly clientId: string;
  readonly sessionId: string;
  readonly offline: boolean;
  spent: boolean;
}

/**
 * A provider with rotating refresh tokens: a refresh spends the token and
 * issues the next; presenting a spent token ends its session (as Keycloak
 * does). `hold()` makes the next mints wait until released.
 */
export class FakeVaultTokens implements VaultTokenProvider {
  readonly ownClientId = "gatehouse";
  readonly tokens = new Map<string, FakeToken>();
  readonly endedSessions = new Set<string>();
  mintCalls = 0;
  revoked: string[] = [];
  password = "right-password";
  private gate: Promise<void> | undefined;
  private counter = 0;

  /** Issues a live token (what a sign-in would have given the user). */
  issue(subject: string, options: { offline?: boolean; clientId?: string; sessionId?: string } = {}): string {
    const token = `token-${++this.counter}-${randomUUID()}`;
    this.tokens.set(token, {
      subject,
      clientId: options.clientId ?? this.ownClientId,
      sessionId: options.sessionId ?? randomUUID(),
      offline: options.offline ?? false,
      spent: false,
    });
    return token;
  }

  /** Holds mints until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  subjectOf(user: { id: string }): string {
    return user.id;
  }

  private live(token: string): FakeToken | undefined {
    const found = this.tokens.get(token);
    return found === undefined || found.spent || this.endedSessions.has(found.sessionId) ? undefined : found;
  }

  async inspect(token: string): Promise<TokenInspection> {
    const found = this.live(token);
    if (found === undefined) return { active: false, reason: "inactive" };
    if (found.clientId !== this.ownClientId) return { active: false, reason: "foreign_client" };
    return { active: true, ...found, expiresAt: undefined };
  }

  async mint(token: string): Promise<MintOutcome> {
    this.mintCalls++;
    await this.gate;
    const found = this.tokens.get(token);
    if (found?.spent) this.endedSessions.add(found.sessionId);
    const live = this.live(token);
    if (live === undefined) return { ok: false, reason: "session_ended" };
    live.spent = true;
    const next = this.issue(live.subject, live);
    return {
      ok: true,
      tokens: {
        accessToken: `access-${this.mintCalls}-${randomUUID()}`,
        accessTokenExpiresAt: new Date(Date.now() + 300_000),
        refreshToken: next,
        refreshTokenExpiresAt: undefined,
        sessionId: live.sessionId,
        subject: live.subject,
      },
    };
  }

  async requestOffline(account: { id: string }, credentials: { password: string }): Promise<OfflineOutcome> {
    if (credentials.password !== this.password) return { ok: false, reason: "invalid_credentials" };
    const token = this.issue(account.id, { offline: true });
    return {
      ok: true,
      refreshToken: token,
      sessionId: this.tokens.get(token)!.sessionId,
      expiresAt: undefined,
    };
  }

  async revoke(token: string): Promise<void> {
    this.revoked.push(token);
    const found = this.tokens.get(token);
    if (found !== undefined) this.endedSessions.add(found.sessionId);
  }
}
