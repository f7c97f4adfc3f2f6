/** A sign-in session of the built-in provider. */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly clientId: string;
  readonly ipAddress: string;
  readonly userAgent: string;
  readonly authMethods: readonly string[];
  readonly offline: boolean;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | undefined;
}

export interface NewSession {
  readonly userId: string;
  readonly clientId: string;
  readonly ipAddress: string;
  readonly userAgent: string;
  readonly authMethods: readonly string[];
  readonly offline: boolean;
  readonly expiresAt: Date;
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

/** What the provider hands back, inside the rotation's transaction, for a token that may be rotated. */
export interface Rotation<T> {
  readonly result: T;
  readonly successor: NewRefreshToken;
  /** The new pair, sealed for the grace window (bound to the rotated token's row id). */
  readonly successorSealed: string;
  readonly client: { readonly ipAddress: string; readonly userAgent: string };
}

export type RotationOutcome<T> =
  /** The token was current: `issue` ran and its successor is stored. */
  | { readonly kind: "rotated"; readonly session: SessionRecord; readonly result: T }
  /** Rotated moments ago (within the grace window): here is the pair it was rotated to. */
  | {
      readonly kind: "grace";
      readonly session: SessionRecord;
      readonly refreshTokenId: string;
      readonly successorSealed: string;
    }
  /** Rotated before the grace window: the session has just been revoked. */
  | { readonly kind: "reused"; readonly session: SessionRecord }
  /** The session has ended (logout, expiry, disabled account) or the token expired. */
  | { readonly kind: "ended" | "expired"; readonly session: SessionRecord }
  | { readonly kind: "unknown" };

/** The sessions and refresh_tokens tables. */
export interface SessionStore {
  create(session: NewSession, refreshToken: NewRefreshToken): Promise<SessionRecord>;
  /**
   * Finds a refresh token by hash and, in one transaction holding row locks on
   * it and its session (so replicas sharing the database agree), rotates it
   * through `issue`, answers from the grace window, or revokes the session on reuse.
   */
  rotate<T>(
    tokenHash: string,
    options: { readonly now: Date; readonly graceMs: number },
    issue: (session: SessionRecord, refreshTokenId: string) => Promise<Rotation<T>>,
  ): Promise<RotationOutcome<T>>;
  /** Revokes the session if it is live; undefined when there is no such session at all. */
  revoke(
    by: { readonly tokenHash: string } | { readonly sessionId: string },
    reason: string,
  ): Promise<{ readonly session: SessionRecord; readonly wasLive: boolean } | undefined>;
  /** Revokes the user's live sessions but one; returns those revoked. */
  revokeAllOfUser(userId: string, reason: string, exceptSessionId?: string): Promise<SessionRecord[]>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** A refresh token and its session, without locking or changing anything. */
  findRefreshToken(tokenHash: string): Promise<
    | {
        readonly session: SessionRecord;
        readonly expiresAt: Date;
        readonly rotated: boolean;
        readonly userActive: boolean;
      }
    | undefined
  >;
  /** Live (unrevoked, unexpired) sessions, newest first. */
  listLive(userId: string): Promise<SessionRecord[]>;
  /** Deletes sessions that ended before `time`, with their refresh tokens. */
  pruneEndedBefore(time: Date): Promise<void>;
}
