import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { RevocationStore } from "./revocation-store.ts";

/**
 * Revocation state in the coordination store (Redis across replicas), keyed by
 * session, token and subject, each kept until the tokens it could reject have
 * expired anyway.
 */
export class SharedRevocationStore implements RevocationStore {
  private readonly store: CoordinationStore;
  /** How long a subject cutoff must be kept: the longest access-token lifetime we accept. */
  private readonly maxTokenLifetimeMs: number;
  private readonly now: () => number;

  constructor(store: CoordinationStore, maxTokenLifetimeMs: number, now: () => number = Date.now) {
    this.store = store;
    this.maxTokenLifetimeMs = maxTokenLifetimeMs;
    this.now = now;
  }

  private ttlUntil(until: Date): number {
    return Math.max(1000, until.getTime() - this.now() + 60_000);
  }

  async revokeSession(sessionId: string, until: Date): Promise<void> {
    await this.store.set(`revoked:sid:${sessionId}`, "1", this.ttlUntil(until));
  }

  async revokeToken(tokenId: string, until: Date): Promise<void> {
    await this.store.set(`revoked:jti:${tokenId}`, "1", this.ttlUntil(until));
  }

  async revokeSubjectTokensIssuedBefore(subjectId: string, cutoff: Date): Promise<void> {
    // Whole seconds, like `iat`: every token issued up to and including the cutoff's second is rejected.
    const seconds = Math.floor(cutoff.getTime() / 1000);
    await this.store.set(`revoked:sub:${subjectId}`, String(seconds), this.maxTokenLifetimeMs + 60_000);
  }

  async revocationReason(token: {
    sessionId: string;
    tokenId: string;
    subjectId: string;
    issuedAt: number;
  }): Promise<"session_revoked" | "token_revoked" | "subject_revoked" | undefined> {
    const [session, tokenEntry, subjectCutoff] = await Promise.all([
      token.sessionId === "" ? undefined : this.store.get(`revoked:sid:${token.sessionId}`),
      token.tokenId === "" ? undefined : this.store.get(`revoked:jti:${token.tokenId}`),
      this.store.get(`revoked:sub:${token.subjectId}`),
    ]);
    if (session !== undefined) return "session_revoked";
    if (tokenEntry !== undefined) return "token_revoked";
    if (subjectCutoff !== undefined && token.issuedAt <= Number(subjectCutoff)) return "subject_revoked";
    return undefined;
  }
}
