import { randomUUID } from "node:crypto";
import type {
  LockedRefreshToken,
  LockedSessionWrites,
  NewRefreshToken,
  NewSession,
  SessionRecord,
  SessionStore,
  TokenGrant,
} from "../../../src/domain/ports/session-store.ts";

interface StoredToken {
  readonly id: string;
  readonly sessionId: string;
  readonly tokenHash: string;
  readonly expiresAt: Date;
  rotatedAt: Date | undefined;
  successorSealed: string | undefined;
  readonly grant: TokenGrant | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The session store in memory, for unit tests: the same contract as the SQL
 * adapter. `withLockedRefreshToken` runs one callback at a time (like the row
 * locks), and its writes apply only when the callback succeeds (like the
 * transaction). Accounts are active unless `setUserActive(id, false)`.
 */
export class MemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, Mutable<SessionRecord> & { revokeReason?: string }>();
  readonly tokens = new Map<string, StoredToken>();
  private readonly inactiveUsers = new Set<string>();
  private lock: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  setUserActive(userId: string, active: boolean): void {
    if (active) this.inactiveUsers.delete(userId);
    else this.inactiveUsers.add(userId);
  }

  /** The stored token row of a hash (to look at what the rotation kept). */
  token(tokenHash: string): StoredToken | undefined {
    return [...this.tokens.values()].find((token) => token.tokenHash === tokenHash);
  }

  async create(session: NewSession, refreshToken: NewRefreshToken): Promise<SessionRecord> {
    const at = new Date(this.now());
    const record = {
      id: randomUUID(),
      userId: session.userId,
      clientId: session.clientId,
      ipAddress: session.ipAddress,
      userAgent: session.userAgent,
      authMethods: [...session.authMethods],
      offline: session.offline,
      createdAt: at,
      lastUsedAt: at,
      lastSeenIpAddress: session.ipAddress,
      lastSeenUserAgent: session.userAgent,
      lastSeenAt: at,
      expiresAt: session.expiresAt,
      revokedAt: undefined,
    };
    this.sessions.set(record.id, record);
    this.addToken(record.id, refreshToken);
    return { ...record };
  }

  private addToken(sessionId: string, token: NewRefreshToken): void {
    const id = randomUUID();
    this.tokens.set(id, {
      id,
      sessionId,
      tokenHash: token.tokenHash,
      expiresAt: token.expiresAt,
      rotatedAt: undefined,
      successorSealed: undefined,
      grant: token.grant,
    });
  }

  async addRefreshToken(
    sessionId: string,
    refreshToken: NewRefreshToken,
  ): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sessionId);
    if (
      session === undefined ||
      session.revokedAt !== undefined ||
      session.expiresAt.getTime() <= this.now()
    ) {
      return undefined;
    }
    this.addToken(sessionId, refreshToken);
    return { ...session };
  }

  private dropPairs(sessionId: string): void {
    for (const token of this.tokens.values()) {
      if (token.sessionId === sessionId) token.successorSealed = undefined;
    }
  }

  withLockedRefreshToken<T>(
    tokenHash: string,
    work: (token: LockedRefreshToken | undefined, writes: LockedSessionWrites) => Promise<T>,
  ): Promise<T> {
    const run = this.lock.then(async () => {
      const stored = this.token(tokenHash);
      const session = stored === undefined ? undefined : this.sessions.get(stored.sessionId);
      const locked: LockedRefreshToken | undefined =
        stored === undefined || session === undefined
          ? undefined
          : {
              session: { ...session },
              tokenId: stored.id,
              expiresAt: stored.expiresAt,
              rotatedAt: stored.rotatedAt,
              successorSealed: stored.successorSealed,
              userActive: !this.inactiveUsers.has(session.userId),
              grant: stored.grant,
            };
      const pending: Array<() => void> = [];
      const writes: LockedSessionWrites = {
        revokeSession: async (sessionId, reason, at) => {
          pending.push(() => {
            const target = this.sessions.get(sessionId);
            if (target !== undefined) Object.assign(target, { revokedAt: at, revokeReason: reason });
            this.dropPairs(sessionId);
          });
        },
        rotate: async (input) => {
          pending.push(() => {
            this.addToken(input.sessionId, input.successor);
            const rotated = this.tokens.get(input.tokenId)!;
            rotated.rotatedAt = input.at;
            rotated.successorSealed = input.successorSealed;
            for (const token of this.tokens.values()) {
              if (
                token.sessionId === input.sessionId &&
                token.rotatedAt !== undefined &&
                token.rotatedAt < input.dropPairsRotatedBefore
              ) {
                token.successorSealed = undefined;
              }
            }
          });
        },
        touch: async (sessionId, input) => {
          const current = this.sessions.get(sessionId)!;
          const updated = {
            ...current,
            lastUsedAt: input.usedAt,
            expiresAt: input.expiresAt,
            ...(input.seen === undefined
              ? {}
              : {
                  lastSeenAt: input.usedAt,
                  lastSeenIpAddress: input.seen.ipAddress,
                  lastSeenUserAgent: input.seen.userAgent,
                }),
          };
          pending.push(() => this.sessions.set(sessionId, updated));
          return { ...updated };
        },
      };
      const result = await work(locked, writes);
      for (const write of pending) write();
      return result;
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  async revoke(
    by: { tokenHash: string } | { sessionId: string },
    reason: string,
  ): Promise<{ session: SessionRecord; wasLive: boolean } | undefined> {
    const sessionId = "sessionId" in by ? by.sessionId : this.token(by.tokenHash)?.sessionId;
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (session === undefined) return undefined;
    if (session.revokedAt !== undefined) return { session: { ...session }, wasLive: false };
    Object.assign(session, { revokedAt: new Date(this.now()), revokeReason: reason });
    this.dropPairs(session.id);
    return { session: { ...session }, wasLive: true };
  }

  async revokeAllOfUser(
    userId: string,
    reason: string,
    options: { exceptSessionId?: string; includeOffline?: boolean } = {},
  ): Promise<SessionRecord[]> {
    const revoked: SessionRecord[] = [];
    for (const session of this.sessions.values()) {
      if (session.userId !== userId || session.revokedAt !== undefined) continue;
      if (session.id === options.exceptSessionId) continue;
      if (session.offline && options.includeOffline === false) continue;
      Object.assign(session, { revokedAt: new Date(this.now()), revokeReason: reason });
      this.dropPairs(session.id);
      revoked.push({ ...session });
    }
    return revoked;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(sessionId);
    return session === undefined ? undefined : { ...session };
  }

  async findRefreshToken(tokenHash: string) {
    const stored = this.token(tokenHash);
    const session = stored === undefined ? undefined : this.sessions.get(stored.sessionId);
    if (stored === undefined || session === undefined) return undefined;
    return {
      session: { ...session },
      expiresAt: stored.expiresAt,
      rotated: stored.rotatedAt !== undefined,
      userActive: !this.inactiveUsers.has(session.userId),
      ...(stored.grant === undefined ? {} : { grant: stored.grant }),
    };
  }

  async listLive(userId: string): Promise<SessionRecord[]> {
    const now = this.now();
    return [...this.sessions.values()]
      .filter((s) => s.userId === userId && s.revokedAt === undefined && s.expiresAt.getTime() > now)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .map((session) => ({ ...session }));
  }

  async pruneEndedBefore(time: Date): Promise<void> {
    for (const [id, session] of this.sessions) {
      if ((session.revokedAt !== undefined && session.revokedAt < time) || session.expiresAt < time) {
        this.sessions.delete(id);
        for (const [tokenId, token] of this.tokens) if (token.sessionId === id) this.tokens.delete(tokenId);
      }
    }
  }
}
