import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import type { DataSource, QueryRunner } from "typeorm";
import { getPGliteInstance } from "typeorm-pglite";
import { DomainError } from "../domain/errors.ts";
import type { Tracing } from "../observability/tracing.ts";
import { traceStatement } from "./query-spans.ts";
import { isClientTimeout, isConnectionFailure } from "./sql-errors.ts";

/** An unreachable database is an outage the caller may retry (UNAVAILABLE), never an internal error. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isConnectionFailure(error)) {
      throw new DomainError("unavailable", "database_unavailable", "the database is unreachable; try again", {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Returns the connection to the pool; after a client-side timeout the
 * statement may still be in flight (e.g. a BEGIN that would run once the server
 * wakes), so the connection is destroyed instead of handed to the next caller.
 */
async function release(runner: QueryRunner, error?: unknown): Promise<void> {
  if (error !== undefined && isClientTimeout(error)) {
    const postgres = runner as QueryRunner & { releasePostgresConnection?: (error: Error) => Promise<void> };
    if (postgres.releasePostgresConnection !== undefined) {
      await postgres.releasePostgresConnection(error as Error);
      return;
    }
  }
  await runner.release();
}

/** Runs SQL and returns the rows (also for INSERT/UPDATE/DELETE … RETURNING), the same on both backends. */
export interface SqlRunner {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<T[]>;
}

export interface QueryOptions {
  /**
   * A named prepared statement on PostgreSQL: each pooled connection parses
   * and plans it once, later calls send only the parameters (less work on both
   * sides). For fixed statement texts on hot paths only: every distinct text
   * stays prepared on every connection. Ignored inside transactions and on PGlite.
   */
  readonly prepared?: boolean;
}

/**
 * SQL on both backends, with real transactions.
 *
 * Single statements on PostgreSQL go straight to the pg pool that TypeORM
 * opened (its QueryRunner, broadcaster and result wrapping cost more than the
 * statement itself on a hot read); transactions use TypeORM's QueryRunner.
 * PGlite is one connection, and typeorm-pglite sends BEGIN … COMMIT as separate
 * statements that other requests' statements could slip between; PGlite's own
 * transaction() holds its lock for the whole transaction instead (every other
 * statement waits), which is what isolation needs there.
 */
export class Sql implements SqlRunner {
  private readonly dataSource: DataSource;
  private readonly embedded: boolean;
  private readonly tracing: Tracing | undefined;
  private readonly statementNames = new Map<string, string>();

  constructor(dataSource: DataSource, options: { embedded: boolean; tracing?: Tracing | undefined }) {
    this.dataSource = dataSource;
    this.embedded = options.embedded;
    this.tracing = options.tracing;
  }

  query<T = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: QueryOptions = {},
  ): Promise<T[]> {
    return guarded(() => this.run<T>(sql, params, options.prepared === true));
  }

  private async run<T>(sql: string, params: readonly unknown[], prepared: boolean): Promise<T[]> {
    if (this.embedded) {
      const pglite = await getPGliteInstance();
      return (await pglite.query<T>(sql, params as unknown[])).rows;
    }
    const tracing = this.tracing;
    if (tracing === undefined) return this.pooled<T>(sql, params, prepared);
    return traceStatement(tracing, sql, () => this.pooled<T>(sql, params, prepared));
  }

  private async pooled<T>(sql: string, params: readonly unknown[], prepared: boolean): Promise<T[]> {
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client: PoolClient = await pool.connect();
    let broken: Error | undefined;
    // A connection that breaks while checked out emits "error" (with no listener, a crash): never reuse it.
    const onError = (error: Error) => {
      broken ??= error;
    };
    client.on("error", onError);
    try {
      const values = params as unknown[];
      const result = await client.query<T & object>(
        prepared ? { name: this.statementName(sql), text: sql, values } : { text: sql, values },
      );
      return result.rows;
    } catch (error) {
      // After a client-side timeout the statement may still be in flight: the connection goes too.
      if (isClientTimeout(error)) broken ??= error as Error;
      // As TypeORM's QueryFailedError does: the log serializer scrubs these values from every message.
      if (error instanceof Error) Object.assign(error, { query: sql, parameters: params });
      throw error;
    } finally {
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  private statementName(sql: string): string {
    let name = this.statementNames.get(sql);
    if (name === undefined) {
      name = `gatehouse_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
      this.statementNames.set(sql, name);
    }
    return name;
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED; use SELECT … FOR UPDATE
   * for read-modify-write). Inside it, use only the runner it is given: on
   * PGlite any other statement waits for the transaction to end.
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return guarded(() => this.runTransaction(work));
  }

  private async runTransaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    if (this.embedded) {
      const pglite = await getPGliteInstance();
      return pglite.transaction((tx) =>
        work({
          query: async <R>(sql: string, params: readonly unknown[] = []) =>
            (await tx.query<R>(sql, params as unknown[])).rows,
        }),
      );
    }
    const runner = this.dataSource.createQueryRunner();
    let failure: unknown;
    try {
      await runner.connect();
      await runner.startTransaction();
      const result = await work({
        query: async <R>(sql: string, params: readonly unknown[] = []) =>
          ((await runner.query(sql, params as unknown[], true)).records ?? []) as R[],
      });
      await runner.commitTransaction();
      return result;
    } catch (error) {
      failure = error;
      // A connection that stopped answering would only make the rollback wait again; destroying it ends the transaction.
      if (!isClientTimeout(error)) await runner.rollbackTransaction().catch(() => {});
      throw error;
    } finally {
      await release(runner, failure);
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string can be compared with a uuid column (anything else would be a query error). */
export const isUuid = (value: string): boolean => UUID.test(value);
