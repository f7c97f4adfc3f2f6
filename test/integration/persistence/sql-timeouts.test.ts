import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDataSource } from "../../../src/persistence/data-source.ts";
import { Sql } from "../../../src/persistence/sql.ts";
import { PrivatePostgres } from "../../support/private-postgres.ts";
import { createTestDatabase } from "../../support/services.ts";

/** The deadlines on SQL (DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_ACQUIRE_TIMEOUT_MS) at the persistence layer. */
describe("SQL deadlines (real PostgreSQL)", () => {
  describe("on a server that answers", () => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    let dataSource: Awaited<ReturnType<typeof openDataSource>>;
    let sql: Sql;

    beforeAll(async () => {
      database = await createTestDatabase();
      dataSource = await openDataSource(
        { kind: "postgres", url: database.url, poolSize: 2 },
        { databaseStatementMs: 200, databaseAcquireMs: 300 },
      );
      sql = new Sql(dataSource, { embedded: false });
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await database?.drop();
    });

    it("cancels a statement past its deadline: UNAVAILABLE database_unavailable", async () => {
      await expect(sql.query("SELECT pg_sleep(5)")).rejects.toMatchObject({
        kind: "unavailable",
        reason: "database_unavailable",
      });
      expect(await sql.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    });

    it("gives up waiting for a pooled connection: UNAVAILABLE database_unavailable", async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Both connections busy in transactions that wait on the test, not on the server; they
      // let go after a while, so a caller that waits for a connection without a deadline gets one.
      const holders = [1, 2].map(() => sql.transaction(() => held));
      const letGo = setTimeout(release, 2000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      try {
        await expect(sql.query("SELECT 1")).rejects.toMatchObject({
          kind: "unavailable",
          reason: "database_unavailable",
        });
      } finally {
        clearTimeout(letGo);
        release();
        await Promise.all(holders);
      }
    });
  });

  describe("on a server that stops answering (SIGSTOP)", () => {
    let postgres: PrivatePostgres;
    let dataSource: Awaited<ReturnType<typeof openDataSource>>;
    let sql: Sql;

    beforeAll(async () => {
      postgres = await PrivatePostgres.start();
      dataSource = await openDataSource(
        { kind: "postgres", url: postgres.url, poolSize: 1 },
        { databaseStatementMs: 300, databaseAcquireMs: 1000 },
      );
      sql = new Sql(dataSource, { embedded: false });
    });

    afterAll(async () => {
      postgres?.resume();
      await dataSource?.destroy();
      await postgres?.stop();
    });

    it("never hands on a connection whose BEGIN is still in flight", async () => {
      await sql.query("SELECT 1");
      postgres.pause();
      try {
        await expect(sql.transaction((tx) => tx.query("SELECT 1"))).rejects.toMatchObject({
          reason: "database_unavailable",
        });
      } finally {
        postgres.resume();
      }
      // Had the connection gone back to the pool, the BEGIN sent before the hang would run now
      // and the next caller's statements would land in a transaction nobody commits.
      let rows: Array<{ inTransaction: boolean }> = [];
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          rows = await sql.query<{ inTransaction: boolean }>(
            `SELECT now() <> statement_timestamp() AS "inTransaction"`,
          );
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      expect(rows).toEqual([{ inTransaction: false }]);
    });
  });
});
