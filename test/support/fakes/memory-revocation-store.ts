import type { RevocationStore } from "../../../src/domain/revocation/revocation-store.ts";

/** Revocations in memory: sessions, tokens and per-subject cut-offs. */
export class MemoryRevocationStore implements RevocationStore {
  readonly sessions = new Set<string>();
  readonly tokens = new Set<string>();
  readonly subjectCutoffs = new Map<string, Date>();

  async revokeSession(sessionId: string): Promise<void> {
    this.sessions.add(sessionId);
  }

  async revokeToken(tokenId: string): Promise<void> {
    this.tokens.add(tokenId);
  }

  async revokeSubjectTokensIssuedBefore(subjectId: string, cutoff: Date): Promise<void> {
    this.subjectCutoffs.set(subjectId, cutoff);
  }

  async revocationReason(token: {
    readonly sessionId: string;
    readonly tokenId: string;
    readonly subjectId: string;
    readonly issuedAt: number;
  }): Promise<"session_revoked" | "token_revoked" | "subject_revoked" | undefined> {
    if (this.sessions.has(token.sessionId)) return "session_revoked";
    if (this.tokens.has(token.tokenId)) return "token_revoked";
    const cutoff = this.subjectCutoffs.get(token.subjectId);
    if (cutoff !== undefined && token.issuedAt * 1000 < cutoff.getTime()) return "subject_revoked";
    return undefined;
  }
}
