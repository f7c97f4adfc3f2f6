import type { EventCursorRepository } from "../domain/sync/identity-events.ts";
import type { SqlRunner } from "./sql.ts";

const ROW_ID = "keycloak";

/** The keycloak_event_cursor table (one row). */
export class SqlEventCursorRepository implements EventCursorRepository {
  private readonly sql: SqlRunner;

  constructor(sql: SqlRunner) {
    this.sql = sql;
  }

  async load(): Promise<{ position: string; polledAt: Date } | undefined> {
    const [row] = await this.sql.query<{ position: string; polled_at: Date }>(
      `SELECT position, polled_at FROM keycloak_event_cursor WHERE id = $1`,
      [ROW_ID],
    );
    return row === undefined ? undefined : { position: row.position, polledAt: new Date(row.polled_at) };
  }

  async save(position: string, polledAt: Date): Promise<void> {
    await this.sql.query(
      `INSERT INTO keycloak_event_cursor (id, position, polled_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, polled_at = EXCLUDED.polled_at`,
      [ROW_ID, position, polledAt],
    );
  }
}
