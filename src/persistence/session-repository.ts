import type {
  LockedRefreshToken,
  LockedSessionWrites,
  NewRefreshToken,
  NewSession,
  SessionRecord,
  SessionStore,
  TokenGrant,
} from "../domain/ports/session-store.ts";
import { isUuid, type Sql } from "./sql.ts";

interface SessionRow {
  id: string;
  user_id: string;
  client_id: string;
  ip_address: string;
  user_agent: string;
  auth_methods: string[];
  offline: boolean;
  created_at: Date;
  last_used_at: Date;
  last_seen_ip_address: string;
  last_seen_user_agent: string;
  last_seen_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

const SESSION_COLUMNS =
  "id, user_id, client_id, ip_address, user_agent, auth_methods, offline, created_at, last_used_at, " +
  "last_seen_ip_address, last_seen_user_agent, last_seen_at, expires_at, revoked_at";
const S_COLUMNS = SESSION_COLUMNS.split(", ")
  .map((column) => `s.${column}`)
  .join(", ");

const toSession = (row: SessionRow): SessionRecord => ({
  id: row.id,
  userId: row.user_id,
  clientId: row.client_id,
  ipAddress: row.ip_address,
  userAgent: row.user_agent,
  authMethods: row.auth_methods,
  offline: row.offline,
  createdAt: new Date(row.created_at),
  lastUsedAt: new Date(row.last_used_at),
  lastSeenIpAddress: row.last_seen_ip_address,
  lastSeenUserAgent: row.last_seen_user_agent,
  lastSeenAt: new Date(row.last_seen_at),
  expiresAt: new Date(row.expires_at),
  revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
});

interface RotationRow extends SessionRow {
  token_id: string;
  token_expires_at: Date;
  rotated_at: Date | null;
  successor_sealed: string | null;
  user_status: string;
  grant_json: TokenGrant | null;
}

const grantJson = (grant: TokenGrant | undefined): string | null =>
  grant === undefined ? null : JSON.stringify(grant);

export class SqlSessionRepository implements SessionStore {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async create(session: NewSession, refreshToken: NewRefreshToken): Promise<SessionRecord> {
    return this.sql.transaction(async (tx) => {
      const rows = await tx.query<SessionRow>(
        // One clock reading: the sign-in is when the session started, was last used and last seen.
        `INSERT INTO sessions (user_id, client_id, ip_address, user_agent, auth_methods, offline, expires_at,
                               last_seen_ip_address, last_seen_user_agent, created_at, last_used_at, last_seen_at)
         SELECT $1, $2, $3, $4, $5::text[], $6, $7, $3, $4, now.at, now.at, now.at
         FROM (SELECT clock_timestamp() AS at) AS now
         RETURNING ${SESSION_COLUMNS}`,
        [
          session.userId,
          session.clientId,
          session.ipAddress.slice(0, 64),
          session.userAgent.slice(0, 512),
          session.authMethods,
          session.offline,
          session.expiresAt,
        ],
      );
      const created = toSession(rows[0]!);
      await tx.query(
        `INSERT INTO refresh_tokens (session_id, token_hash, expires_at, grant_json) VALUES ($1, $2, $3, $4::jsonb)`,
        [created.id, refreshToken.tokenHash, refreshToken.expiresAt, grantJson(refreshToken.grant)],
      );
      return created;
    });
  }

  async addRefreshToken(
    sessionId: string,
    refreshToken: NewRefreshToken,
  ): Promise<SessionRecord | undefined> {
    if (!isUuid(sessionId)) return undefined;
    return this.sql.transaction(async (tx) => {
      // Locked like a rotation: a concurrent revoke either ends the session first or sees this chain.
      const rows = await tx.query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions
         WHERE id = $1 AND revoked_at IS NULL AND expires_at > clock_timestamp() FOR UPDATE`,
        [sessionId],
      );
      if (rows[0] === undefined) return undefined;
      await tx.query(
        `INSERT INTO refresh_tokens (session_id, token_hash, expires_at, grant_json) VALUES ($1, $2, $3, $4::jsonb)`,
        [sessionId, refreshToken.tokenHash, refreshToken.expiresAt, grantJson(refreshToken.grant)],
      );
      return toSession(rows[0]);
    });
  }

  withLockedRefreshToken<T>(
    tokenHash: string,
    work: (token: LockedRefreshToken | undefined, writes: LockedSessionWrites) => Promise<T>,
  ): Promise<T> {
    return this.sql.transaction(async (tx) => {
      // Row locks on the token and its session: a concurrent refresh of the same token, on any
      // replica, waits here and then sees what this one wrote.
      const rows = await tx.query<RotationRow>(
        `SELECT ${S_COLUMNS}, rt.id AS token_id, rt.expires_at AS token_expires_at, rt.rotated_at,
                rt.successor_sealed, rt.grant_json, u.status AS user_status
         FROM refresh_tokens rt
         JOIN sessions s ON s.id = rt.session_id
         JOIN users u ON u.id = s.user_id
         WHERE rt.token_hash = $1
         FOR UPDATE OF rt, s`,
        [tokenHash],
      );
      const row = rows[0];
      const token: LockedRefreshToken | undefined =
        row === undefined
          ? undefined
          : {
              session: toSession(row),
              tokenId: row.token_id,
              expiresAt: new Date(row.token_expires_at),
              rotatedAt: row.rotated_at === null ? undefined : new Date(row.rotated_at),
              successorSealed: row.successor_sealed ?? undefined,
              userActive: row.user_status === "active",
              grant: row.grant_json ?? undefined,
            };
      const writes: LockedSessionWrites = {
        async revokeSession(sessionId, reason, at) {
          await tx.query(`UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1`, [
            sessionId,
            at,
            reason,
          ]);
          await tx.query(`UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = $1`, [
            sessionId,
          ]);
        },
        async rotate(input) {
          await tx.query(
            `INSERT INTO refresh_tokens (session_id, token_hash, expires_at, grant_json)
             VALUES ($1, $2, $3, $4::jsonb)`,
            [
              input.sessionId,
              input.successor.tokenHash,
              input.successor.expiresAt,
              grantJson(input.successor.grant),
            ],
          );
          await tx.query(`UPDATE refresh_tokens SET rotated_at = $2, successor_sealed = $3 WHERE id = $1`, [
            input.tokenId,
            input.at,
            input.successorSealed ?? null,
          ]);
          await tx.query(
            `UPDATE refresh_tokens SET successor_sealed = NULL
             WHERE session_id = $1 AND successor_sealed IS NOT NULL AND rotated_at < $2`,
            [input.sessionId, input.dropPairsRotatedBefore],
          );
        },
        async touch(sessionId, input) {
          const seen = input.seen;
          const updated = await tx.query<SessionRow>(
            `UPDATE sessions SET last_used_at = $2, expires_at = $3,
                    last_seen_at = CASE WHEN $4::boolean THEN $2 ELSE last_seen_at END,
                    last_seen_ip_address = CASE WHEN $4::boolean THEN $5 ELSE last_seen_ip_address END,
                    last_seen_user_agent = CASE WHEN $4::boolean THEN $6 ELSE last_seen_user_agent END
             WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
            [
              sessionId,
              input.usedAt,
              input.expiresAt,
              seen !== undefined,
              (seen?.ipAddress ?? "").slice(0, 64),
              (seen?.userAgent ?? "").slice(0, 512),
            ],
          );
          return toSession(updated[0]!);
        },
      };
      return work(token, writes);
    });
  }

  async revoke(
    by: { tokenHash: string } | { sessionId: string },
    reason: string,
  ): Promise<{ session: SessionRecord; wasLive: boolean } | undefined> {
    if ("sessionId" in by && !isUuid(by.sessionId)) return undefined;
    const target =
      "tokenHash" in by ? "(SELECT session_id FROM refresh_tokens WHERE token_hash = $1)" : "$1::uuid";
    const key = "tokenHash" in by ? by.tokenHash : by.sessionId;
    const rows = await this.sql.query<SessionRow>(
      `UPDATE sessions SET revoked_at = clock_timestamp(), revoke_reason = $2
       WHERE id = ${target} AND revoked_at IS NULL RETURNING ${SESSION_COLUMNS}`,
      [key, reason],
    );
    const revoked = rows[0];
    if (revoked === undefined) {
      const existing = await this.sql.query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ${target}`,
        [key],
      );
      return existing[0] === undefined ? undefined : { session: toSession(existing[0]), wasLive: false };
    }
    // The pairs kept for the grace window are useless now; do not keep them around.
    await this.sql.query(`UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = $1`, [
      revoked.id,
    ]);
    return { session: toSession(revoked), wasLive: true };
  }

  async revokeAllOfUser(
    userId: string,
    reason: string,
    options: { exceptSessionId?: string; includeOffline?: boolean } = {},
  ): Promise<SessionRecord[]> {
    const except = options.exceptSessionId !== undefined && isUuid(options.exceptSessionId);
    const rows = await this.sql.query<SessionRow>(
      `UPDATE sessions SET revoked_at = clock_timestamp(), revoke_reason = $2
       WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
         AND ($4::boolean OR NOT offline)
       RETURNING ${SESSION_COLUMNS}`,
      [userId, reason, except ? options.exceptSessionId : null, options.includeOffline ?? true],
    );
    if (rows.length > 0) {
      await this.sql.query(
        `UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = ANY($1::uuid[])`,
        [rows.map((row) => row.id)],
      );
    }
    return rows.map(toSession);
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    if (!isUuid(sessionId)) return undefined;
    const rows = await this.sql.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [
      sessionId,
    ]);
    return rows[0] === undefined ? undefined : toSession(rows[0]);
  }

  async findRefreshToken(
    tokenHash: string,
  ): Promise<
    | { session: SessionRecord; expiresAt: Date; rotated: boolean; userActive: boolean; grant?: TokenGrant }
    | undefined
  > {
    const rows = await this.sql.query<RotationRow>(
      `SELECT ${S_COLUMNS}, rt.expires_at AS token_expires_at, rt.rotated_at, rt.grant_json,
              u.status AS user_status
       FROM refresh_tokens rt
       JOIN sessions s ON s.id = rt.session_id
       JOIN users u ON u.id = s.user_id
       WHERE rt.token_hash = $1`,
      [tokenHash],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      session: toSession(row),
      expiresAt: new Date(row.token_expires_at),
      rotated: row.rotated_at !== null,
      userActive: row.user_status === "active",
      ...(row.grant_json === null ? {} : { grant: row.grant_json }),
    };
  }

  async listLive(userId: string): Promise<SessionRecord[]> {
    const rows = await this.sql.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions
       WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > clock_timestamp()
       ORDER BY created_at DESC, id DESC LIMIT 1000`,
      [userId],
    );
    return rows.map(toSession);
  }

  async pruneEndedBefore(time: Date): Promise<void> {
    await this.sql.query(`DELETE FROM sessions WHERE revoked_at < $1 OR expires_at < $1`, [time]);
  }
}
