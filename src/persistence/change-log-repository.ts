import type { ChangeEvent, ChangeKind, ChangeLog, NewChange } from "../domain/change-feed/change-feed.ts";
import type { Sql } from "./sql.ts";

interface Row {
  id: string;
  kind: ChangeKind;
  key: string;
  value: string;
  expires_at: Date;
  created_at: Date;
}

const REVOCATION_KINDS = ["session_revoked", "token_revoked", "subject_cutoff"];

const toEvent = (row: Row): ChangeEvent & { createdAt: Date } => ({
  id: String(row.id),
  kind: row.kind,
  key: row.key,
  value: Number(row.value),
  expiresAt: new Date(row.expires_at).getTime(),
  createdAt: new Date(row.created_at),
});

export class ChangeLogRepository implements ChangeLog {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async append(change: NewChange): Promise<ChangeEvent> {
    const rows = await this.sql.query<Row>(
      `INSERT INTO change_events (kind, key, value, expires_at) VALUES ($1, $2, $3, $4)
       RETURNING id, kind, key, value, expires_at, created_at`,
      [change.kind, change.key, change.value, new Date(change.expiresAt)],
    );
    return toEvent(rows[0]!);
  }

  async since(time: Date): Promise<Array<ChangeEvent & { createdAt: Date }>> {
    const rows = await this.sql.query<Row>(
      `SELECT id, kind, key, value, expires_at, created_at FROM change_events
       WHERE created_at >= $1 ORDER BY id LIMIT 10000`,
      [time],
    );
    return rows.map(toEvent);
  }

  async activeRevocations(): Promise<ChangeEvent[]> {
    const rows = await this.sql.query<Row>(
      `SELECT id, kind, key, value, expires_at, created_at FROM change_events
       WHERE kind = ANY($1) AND expires_at > now() ORDER BY id`,
      [REVOCATION_KINDS],
    );
    return rows.map(toEvent);
  }

  async databaseNow(): Promise<Date> {
    const rows = await this.sql.query<{ now: Date }>(`SELECT clock_timestamp() AS now`);
    return new Date(rows[0]!.now);
  }

  async pruneExpired(): Promise<number> {
    const rows = await this.sql.query(`DELETE FROM change_events WHERE expires_at < now() RETURNING id`);
    return rows.length;
  }
}
