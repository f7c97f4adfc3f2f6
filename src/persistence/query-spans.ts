import type { DataSource, QueryRunner } from "typeorm";
import type { Tracing } from "../observability/tracing.ts";

/** The statement's verb (SELECT, INSERT, …, START TRANSACTION as START): the only part of the SQL a span names. */
function operationOf(sql: string): string {
  const match = /^\s*([A-Za-z]+)/.exec(sql);
  return match === null ? "QUERY" : match[1].toUpperCase();
}

/**
 * Makes every query TypeORM sends (repositories, query builders, raw
 * queries, transactions) a child span of the RPC it serves: `db <VERB>` with
 * `db.system` and `db.operation.name`. Not the statement: values are
 * parameters, but a span is no place to find out which ones are not. Query
 * runners come from the driver, so wrapping its factory covers them all.
 * Installed only with tracing on: off, the driver is untouched.
 */
export function traceQueries(dataSource: DataSource, tracing: Tracing): void {
  const driver = dataSource.driver;
  const createQueryRunner = driver.createQueryRunner.bind(driver);
  driver.createQueryRunner = (mode) => {
    const runner: QueryRunner = createQueryRunner(mode);
    const query = runner.query.bind(runner);
    runner.query = ((sql: string, parameters?: unknown[], structured?: boolean) =>
      traceStatement(tracing, sql, () =>
        query(sql, parameters, structured as never),
      )) as QueryRunner["query"];
    return runner;
  };
}

/** One statement as a child span (see traceQueries); for statements sent without TypeORM (Sql.query). */
export function traceStatement<T>(tracing: Tracing, sql: string, run: () => Promise<T>): Promise<T> {
  const operation = operationOf(sql);
  return tracing.childSpan(
    `db ${operation}`,
    { "db.system": "postgresql", "db.operation.name": operation },
    run,
  );
}
