import type { ChangeEvent, ChangeFeed } from "../change-feed/change-feed.ts";
import type { RevocationStore } from "./revocation-store.ts";

type RevocationReason = "session_revoked" | "token_revoked" | "subject_revoked";

interface TokenIdentity {
  readonly sessionId: string;
  readonly tokenId: string;
  readonly subjectId: string;
  readonly issuedAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Revocation state held in memory on every replica, so the decision hot path
 * answers without a network round trip. Writes go through the change feed
 * (database first, then pub/sub to every replica); reads are map lookups.
 * Entries are dropped once no token they could reject is still valid.
 */
export class RevocationRegistry implements RevocationStore {
  private readonly feed: ChangeFeed;
  /** How long a subject cutoff must be kept: the longest access-token lifetime accepted. */
  private readonly maxTokenLifetimeMs: number;
  private readonly now: () => number;
  private readonly sessions = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  /** subject id → { cutoff epoch seconds, expiry ms } */
  private readonly subjects = new Map<string, { cutoff: number; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(feed: ChangeFeed, maxTokenLifetimeMs: number, now: () => number = Date.now) {
    this.feed = feed;
    this.maxTokenLifetimeMs = maxTokenLifetimeMs;
    this.now = now;
    feed.onChange((event) => this.apply(event));
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  private apply(event: ChangeEvent): void {
    switch (event.kind) {
      case "session_revoked":
        this.sessions.set(event.key, Math.max(this.sessions.get(event.key) ?? 0, event.expiresAt));
        break;
      case "token_revoked":
        this.tokens.set(event.key, Math.max(this.tokens.get(event.key) ?? 0, event.expiresAt));
        break;
      case "subject_cutoff": {
        const current = this.subjects.get(event.key);
        if (current === undefined || current.cutoff < event.value) {
          this.subjects.set(event.key, { cutoff: event.value, expiresAt: event.expiresAt });
        }
        break;
      }
      default:
        break;
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(key);
    for (const [key, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(key);
    for (const [key, entry] of this.subjects) if (entry.expiresAt <= now) this.subjects.delete(key);
  }

  async revokeSession(sessionId: string, until: Date): Promise<void> {
    await this.feed.publish({
      kind: "session_revoked",
      key: sessionId,
      value: 0,
      expiresAt: Math.max(until.getTime(), this.now()) + 60_000,
    });
  }

  async revokeToken(tokenId: string, until: Date): Promise<void> {
    await this.feed.publish({
      kind: "token_revoked",
      key: tokenId,
      value: 0,
      expiresAt: Math.max(until.getTime(), this.now()) + 60_000,
    });
  }

  async revokeSubjectTokensIssuedBefore(subjectId: string, cutoff: Date): Promise<void> {
    await this.feed.publish({
      kind: "subject_cutoff",
      key: subjectId,
      // Whole seconds, like `iat`: every token issued up to and including the cutoff's second is
      // rejected (iat has no finer resolution). Sessions started after a cutoff are told apart by
      // their new `sid`, so precise cases (logout, password reset) revoke sessions instead.
      value: Math.floor(cutoff.getTime() / 1000),
      expiresAt: cutoff.getTime() + this.maxTokenLifetimeMs + 60_000,
    });
  }

  /** The synchronous lookup the decision engine uses. */
  reasonFor(token: TokenIdentity): RevocationReason | undefined {
    if (token.sessionId !== "" && this.sessions.has(token.sessionId)) return "session_revoked";
    if (token.tokenId !== "" && this.tokens.has(token.tokenId)) return "token_revoked";
    const subject = this.subjects.get(token.subjectId);
    if (subject !== undefined && token.issuedAt <= subject.cutoff) return "subject_revoked";
    return undefined;
  }

  async revocationReason(token: TokenIdentity): Promise<RevocationReason | undefined> {
    return this.reasonFor(token);
  }

  /** Entries held, for metrics. */
  size(): number {
    return this.sessions.size + this.tokens.size + this.subjects.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
