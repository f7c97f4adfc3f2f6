import type { SessionClients } from "../domain/ports/logout-tokens.ts";
import { isUuid, type Sql } from "./sql.ts";

/**
 * The clients of a session: the one that opened it, those whose refresh-token
 * chains it holds (their grant), and those the token endpoint recorded.
 */
export class SqlSessionClientRepository implements SessionClients {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async clientsOf(sessionId: string): Promise<{ userId: string; clientIds: string[] } | undefined> {
    if (!isUuid(sessionId)) return undefined;
    const rows = await this.sql.query<{ user_id: string; client_ids: string[] | null }>(
      `SELECT s.user_id, ARRAY(
          SELECT s.client_id
          UNION SELECT rt.grant_json->>'clientId' FROM refresh_tokens rt
                WHERE rt.session_id = s.id AND rt.grant_json IS NOT NULL
          UNION SELECT c.client_id FROM oidc_session_clients c WHERE c.session_id = s.id
        ) AS client_ids
       FROM sessions s WHERE s.id = $1`,
      [sessionId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { userId: row.user_id, clientIds: row.client_ids ?? [] };
  }

  async record(sessionId: string, clientId: string): Promise<void> {
    if (!isUuid(sessionId)) return;
    await this.sql.query(
      `INSERT INTO oidc_session_clients (session_id, client_id) SELECT id, $2 FROM sessions WHERE id = $1
       ON CONFLICT DO NOTHING`,
      [sessionId, clientId],
    );
  }
}
