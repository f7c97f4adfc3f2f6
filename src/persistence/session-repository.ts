import type {
  NewRefreshToken,
  NewSession,
  Rotation,
  RotationOutcome,
  SessionRecord,
  SessionStore,
} from "../identity/local/session-store.ts";
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
  expires_at: Date;
  revoked_at: Date | null;
}

const SESSION_COLUMNS =
  "id, user_id, client_id, ip_address, user_agent, auth_methods, offline, created_at, last_used_at, expires_at, revoked_at";
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
  expiresAt: new Date(row.expires_at),
  revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
});

interface RotationRow extends SessionRow {
  token_id: string;
  token_expires_at: Date;
  rotated_at: Date | null;
  successor_sealed: string | null;
  user_status: string;
}

export class SqlSessionRepository implements SessionStore {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async create(session: NewSession, refreshToken: NewRefreshToken): Promise<SessionRecord> {
    return this.sql.transaction(async (tx) => {
      const rows = await tx.query<SessionRow>(
        `INSERT INTO sessions (user_id, client_id, ip_address, user_agent, auth_methods, offline, expires_at)
         VALUES ($1, $2, $3, $4, $5::text[], $6, $7) RETURNING ${SESSION_COLUMNS}`,
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
      await tx.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)`, [
        created.id,
        refreshToken.tokenHash,
        refreshToken.expiresAt,
      ]);
      return created;
    });
  }

  rotate<T>(
    tokenHash: string,
    options: { now: Date; graceMs: number },
    issue: (session: SessionRecord, refreshTokenId: string) => Promise<Rotation<T>>,
  ): Promise<RotationOutcome<T>> {
    return this.sql.transaction(async (tx): Promise<RotationOutcome<T>> => {
      // Row locks on the token and its session: a concurrent refresh of the same token, on any
      // replica, waits here and then sees the rotation this one made.
      const rows = await tx.query<RotationRow>(
        `SELECT ${S_COLUMNS}, rt.id AS token_id, rt.expires_at AS token_expires_at, rt.rotated_at,
                rt.successor_sealed, u.status AS user_status
         FROM refresh_tokens rt
         JOIN sessions s ON s.id = rt.session_id
         JOIN users u ON u.id = s.user_id
         WHERE rt.token_hash = $1
         FOR UPDATE OF rt, s`,
        [tokenHash],
      );
      const row = rows[0];
      if (row === undefined) return { kind: "unknown" };
      const session = toSession(row);
      const now = options.now.getTime();
      if (
        session.revokedAt !== undefined ||
        session.expiresAt.getTime() <= now ||
        row.user_status !== "active"
      ) {
        return { kind: "ended", session };
      }
      if (row.rotated_at !== null) {
        if (now - new Date(row.rotated_at).getTime() <= options.graceMs && row.successor_sealed !== null) {
          return {
            kind: "grace",
            session,
            refreshTokenId: row.token_id,
            successorSealed: row.successor_sealed,
          };
        }
        await tx.query(
          `UPDATE sessions SET revoked_at = $2, revoke_reason = 'refresh_token_reused' WHERE id = $1`,
          [session.id, options.now],
        );
        await tx.query(`UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = $1`, [
          session.id,
        ]);
        return { kind: "reused", session: { ...session, revokedAt: options.now } };
      }
      if (new Date(row.token_expires_at).getTime() <= now) return { kind: "expired", session };

      const rotation = await issue(session, row.token_id);
      await tx.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, $3)`, [
        session.id,
        rotation.successor.tokenHash,
        rotation.successor.expiresAt,
      ]);
      await tx.query(`UPDATE refresh_tokens SET rotated_at = $2, successor_sealed = $3 WHERE id = $1`, [
        row.token_id,
        options.now,
        rotation.successorSealed,
      ]);
      // Pairs kept for grace windows that have passed are of no use any more: drop them.
      await tx.query(
        `UPDATE refresh_tokens SET successor_sealed = NULL
         WHERE session_id = $1 AND successor_sealed IS NOT NULL AND rotated_at < $2`,
        [session.id, new Date(now - options.graceMs)],
      );
      const updated = await tx.query<SessionRow>(
        `UPDATE sessions SET last_used_at = $2, ip_address = $3, user_agent = $4, expires_at = $5
         WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
        [
          session.id,
          options.now,
          rotation.client.ipAddress.slice(0, 64),
          rotation.client.userAgent.slice(0, 512),
          rotation.successor.expiresAt,
        ],
      );
      return { kind: "rotated", session: toSession(updated[0]!), result: rotation.result };
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

  async revokeAllOfUser(userId: string, reason: string, exceptSessionId?: string): Promise<SessionRecord[]> {
    const rows = await this.sql.query<SessionRow>(
      `UPDATE sessions SET revoked_at = clock_timestamp(), revoke_reason = $2
       WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
       RETURNING ${SESSION_COLUMNS}`,
      [userId, reason, exceptSessionId ?? null],
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
  ): Promise<{ session: SessionRecord; expiresAt: Date; rotated: boolean; userActive: boolean } | undefined> {
    const rows = await this.sql.query<RotationRow>(
      `SELECT ${S_COLUMNS}, rt.expires_at AS token_expires_at, rt.rotated_at, u.status AS user_status
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
