import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDataSource } from "../../../src/persistence/data-source.ts";
import { SqlServiceRepository } from "../../../src/persistence/service-repository.ts";
import { Sql } from "../../../src/persistence/sql.ts";
import { createTestDatabase } from "../../support/services.ts";

/** Counts the rows of every result, to see how much one query hands the driver to parse at once. */
class MeasuredSql extends Sql {
  readonly resultSizes: number[] = [];
  override async query<T = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<T[]> {
    const rows = await super.query<T>(sql, params);
    this.resultSizes.push(rows.length);
    return rows;
  }
}

/**
 * The service directory reloads every service after a change; one result of
 * 10,001 rows held the event loop for ~100 ms (every decision of the replica
 * waited), so all() reads in pages of a bounded size.
 */
describe("SqlServiceRepository.all (real PostgreSQL)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: Awaited<ReturnType<typeof openDataSource>>;
  let sql: MeasuredSql;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openDataSource({ kind: "postgres", url: database.url, poolSize: 2 });
    sql = new MeasuredSql(dataSource, { embedded: false });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it("returns every service, reading no more than a page per query", async () => {
    const services = new SqlServiceRepository(sql, { allPageSize: 2 });
    const before = (await services.all()).length;
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const slug = `paged-${i}-${Math.random().toString(36).slice(2, 8)}`;
      created.push(
        (
          await services.create({
            slug,
            displayName: slug,
            description: "",
            audience: slug,
            roles: ["viewer"],
            hosts: [],
          })
        ).id,
      );
    }
    sql.resultSizes.length = 0;
    const all = await services.all();
    expect(all).toHaveLength(before + 5);
    expect(new Set(all.map((service) => service.id)).size).toBe(all.length);
    expect(all.map((service) => service.id)).toEqual(expect.arrayContaining(created));
    expect(Math.max(...sql.resultSizes)).toBeLessThanOrEqual(2);
    expect(sql.resultSizes.length).toBe(Math.floor(all.length / 2) + 1);
  });
});
