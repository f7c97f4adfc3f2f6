import type { DataSource, QueryRunner } from "typeorm";
import { getPGliteInstance } from "typeorm-pglite";
import { DomainError } from "../domain/errors.ts";
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
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * SQL over the TypeORM data source, with real transactions on both backends.
 *
 * TypeORM's DataSource.query answers UPDATE/DELETE with `[rows, count]` on
 * pg but plain rows on PGlite; the structured result below is the same on both.
 * PGlite is one connection, and typeorm-pglite sends BEGIN … COMMIT as separate
 * statements that other requests' statements could slip between; PGlite's own
 * transaction() holds its lock for the whole transaction instead (every other
 * statement waits), which is what isolation needs there.
 */
export class Sql implements SqlRunner {
  private readonly dataSource: DataSource;
  private readonly embedded: boolean;

  constructor(dataSource: DataSource, options: { embedded: boolean }) {
    this.dataSource = dataSource;
    this.embedded = options.embedded;
  }

  query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return guarded(() => this.run<T>(sql, params));
  }

  private async run<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    if (this.embedded) {
      const pglite = await getPGliteInstance();
      return (await pglite.query<T>(sql, params as unknown[])).rows;
    }
    const runner = this.dataSource.createQueryRunner();
    let failure: unknown;
    try {
      const result = await runner.query(sql, params as unknown[], true);
      return (result.records ?? []) as T[];
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      await release(runner, failure);
    }
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
