import type { SyncFailure, SyncRun, SyncStateRepository } from "../domain/sync/sync-ports.ts";
import type { SqlRunner } from "./sql.ts";

interface RunRow {
  started_at: Date;
  finished_at: Date;
  created: number;
  updated: number;
  unchanged: number;
  disabled: number;
  failed: number;
}

/** The keycloak_sync_runs and keycloak_sync_failures tables. */
export class SqlSyncStateRepository implements SyncStateRepository {
  private readonly sql: SqlRunner;

  constructor(sql: SqlRunner) {
    this.sql = sql;
  }

  async saveRun(run: SyncRun): Promise<void> {
    await this.sql.query(
      `INSERT INTO keycloak_sync_runs (started_at, finished_at, created, updated, unchanged, disabled, failed)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [run.startedAt, run.finishedAt, run.created, run.updated, run.unchanged, run.disabled, run.failed],
    );
  }

  async lastRun(): Promise<SyncRun | undefined> {
    const [row] = await this.sql.query<RunRow>(
      `SELECT started_at, finished_at, created, updated, unchanged, disabled, failed
       FROM keycloak_sync_runs ORDER BY finished_at DESC LIMIT 1`,
    );
    if (row === undefined) return undefined;
    return {
      startedAt: new Date(row.started_at),
      finishedAt: new Date(row.finished_at),
      created: row.created,
      updated: row.updated,
      unchanged: row.unchanged,
      disabled: row.disabled,
      failed: row.failed,
    };
  }

  async recordFailure(failure: SyncFailure): Promise<void> {
    await this.sql.query(
      `INSERT INTO keycloak_sync_failures (source, external_id, user_id, reason) VALUES ($1, $2, $3, $4)`,
      [
        failure.source,
        failure.externalId.slice(0, 255),
        failure.userId.slice(0, 64),
        failure.reason.slice(0, 64),
      ],
    );
  }

  async failuresSince(time: Date): Promise<number> {
    const [row] = await this.sql.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM keycloak_sync_failures WHERE occurred_at > $1`,
      [time],
    );
    return row?.count ?? 0;
  }

  async activitySince(time: Date): Promise<{ usersSynced: number; failures: number }> {
    const [row] = await this.sql.query<{ synced: number; failures: number }>(
      `SELECT (SELECT count(*)::int FROM users WHERE keycloak_synced_at >= $1) AS synced,
              (SELECT count(*)::int FROM keycloak_sync_failures WHERE occurred_at >= $1) AS failures`,
      [time],
    );
    return { usersSynced: row?.synced ?? 0, failures: row?.failures ?? 0 };
  }

  async prune(time: Date): Promise<void> {
    await this.sql.query(`DELETE FROM keycloak_sync_failures WHERE occurred_at < $1`, [time]);
    await this.sql.query(
      `DELETE FROM keycloak_sync_runs WHERE finished_at < $1
         AND id <> (SELECT id FROM keycloak_sync_runs ORDER BY finished_at DESC LIMIT 1)`,
      [time],
    );
  }
}
