/**
 * A sign-in session of the built-in provider. It records where it started
 * (the sign-in's address and user agent, never overwritten) apart from where
 * its user was last seen (the sign-in, then each refresh; a token vault mint is
 * not the user being seen).
 */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly clientId: string;
  /** The sign-in's client address and user agent. */
  readonly ipAddress: string;
  readonly userAgent: string;
  readonly authMethods: readonly string[];
  readonly offline: boolean;
  /** When the session started (the sign-in). */
  readonly createdAt: Date;
  /** When tokens were last issued from it: a refresh or a token vault mint. */
  readonly lastUsedAt: Date;
  /** Where and when the user was last seen: the sign-in or their latest refresh. */
  readonly lastSeenIpAddress: string;
  readonly lastSeenUserAgent: string;
  readonly lastSeenAt: Date;
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

/**
 * The OAuth grant a refresh-token chain was issued for at the token endpoint
 * (#13): the relying party, the scope granted and the access tokens'
 * audience. Each rotation passes it on. Chains of Login carry none (their
 * tokens are for the session's own client).
 */
export interface TokenGrant {
  readonly clientId: string;
  readonly scope: string;
  /** The access tokens' `aud` (a resource indicator's audience and Gatehouse's). */
  readonly audience: readonly string[];
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: Date;
  readonly grant?: TokenGrant;
}

/** A refresh token and its session as read under lock, for the rotation to decide on. */
export interface LockedRefreshToken {
  readonly session: SessionRecord;
  readonly tokenId: string;
  readonly expiresAt: Date;
  /** Set once the token has been exchanged for a successor. */
  readonly rotatedAt: Date | undefined;
  /** The pair it was exchanged for, sealed, while a grace window may still hand it out. */
  readonly successorSealed: string | undefined;
  readonly userActive: boolean;
  readonly grant: TokenGrant | undefined;
}

/** Writes made while the lock is held; they commit together when the callback returns, or not at all. */
export interface LockedSessionWrites {
  /** Ends the session and drops every pair kept for its grace windows. */
  revokeSession(sessionId: string, reason: string, at: Date): Promise<void>;
  /**
   * Stores the successor token and marks the presented one rotated, keeping
   * `successorSealed` for the grace window (none: no grace), and drops pairs
   * of the session rotated before `dropPairsRotatedBefore`.
   */
  rotate(input: {
    readonly sessionId: string;
    readonly tokenId: string;
    readonly at: Date;
    readonly successor: NewRefreshToken;
    readonly successorSealed: string | undefined;
    readonly dropPairsRotatedBefore: Date;
  }): Promise<void>;
  /** Records a use of the session and its new expiry; `seen` also moves where the user was last seen. */
  touch(
    sessionId: string,
    input: {
      readonly usedAt: Date;
      readonly expiresAt: Date;
      readonly seen: { readonly ipAddress: string; readonly userAgent: string } | undefined;
    },
  ): Promise<SessionRecord>;
}

/**
 * The sessions and their refresh tokens: storage only. The rules (rotation,
 * grace window, reuse detection, lifetimes) are the built-in provider's
 * (identity/local/refresh-rotation.ts).
 */
export interface SessionStore {
  create(session: NewSession, refreshToken: NewRefreshToken): Promise<SessionRecord>;
  /**
   * Starts another refresh-token chain in a live session (an OIDC client's
   * tokens from the browser's sign-in session): it rotates on its own, and
   * ends with the session. Undefined when the session is not live.
   */
  addRefreshToken(sessionId: string, refreshToken: NewRefreshToken): Promise<SessionRecord | undefined>;
  /**
   * Finds a refresh token by hash and runs `work` holding locks on it and its
   * session, so that concurrent callers (on any replica sharing the store) take
   * turns and each sees what the previous one wrote. `token` is undefined when
   * no such token exists.
   */
  withLockedRefreshToken<T>(
    tokenHash: string,
    work: (token: LockedRefreshToken | undefined, writes: LockedSessionWrites) => Promise<T>,
  ): Promise<T>;
  /** Revokes the session if it is live; undefined when there is no such session at all. */
  revoke(
    by: { readonly tokenHash: string } | { readonly sessionId: string },
    reason: string,
  ): Promise<{ readonly session: SessionRecord; readonly wasLive: boolean } | undefined>;
  /**
   * Revokes the user's live sessions but one; returns those revoked.
   * `includeOffline: false` leaves offline sessions alone.
   */
  revokeAllOfUser(
    userId: string,
    reason: string,
    options?: { readonly exceptSessionId?: string; readonly includeOffline?: boolean },
  ): Promise<SessionRecord[]>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** A refresh token and its session, without locking or changing anything. */
  findRefreshToken(tokenHash: string): Promise<
    | {
        readonly session: SessionRecord;
        readonly expiresAt: Date;
        readonly rotated: boolean;
        readonly userActive: boolean;
        readonly grant?: TokenGrant;
      }
    | undefined
  >;
  /** Live (unrevoked, unexpired) sessions, newest first. */
  listLive(userId: string): Promise<SessionRecord[]>;
  /** Deletes sessions that ended before `time`, with their refresh tokens. */
  pruneEndedBefore(time: Date): Promise<void>;
}
