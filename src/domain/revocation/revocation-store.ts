/**
 * Revocation state shared by every replica: revoked sessions (`sid`), revoked
 * tokens (`jti`) and per-subject not-before cutoffs (set when a user is
 * disabled, deleted, or resets their password). Entries live as long as a
 * token they could reject.
 */
export interface RevocationStore {
  /** Rejects every token of the session from now on; `until` is the latest expiry of its tokens. */
  revokeSession(sessionId: string, until: Date): Promise<void>;
  revokeToken(tokenId: string, until: Date): Promise<void>;
  /** Rejects every token of the subject issued before `cutoff`. */
  revokeSubjectTokensIssuedBefore(subjectId: string, cutoff: Date): Promise<void>;
  /** Why the token is revoked, or undefined if it is not. */
  revocationReason(token: {
    readonly sessionId: string;
    readonly tokenId: string;
    readonly subjectId: string;
    readonly issuedAt: number;
  }): Promise<"session_revoked" | "token_revoked" | "subject_revoked" | undefined>;
}
