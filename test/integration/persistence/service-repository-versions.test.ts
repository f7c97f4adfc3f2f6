import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDataSource } from "../../../src/persistence/data-source.ts";
import { SqlServiceRepository } from "../../../src/persistence/service-repository.ts";
import { Sql } from "../../../src/persistence/sql.ts";
import { createTestDatabase } from "../../support/services.ts";

/**
 * Replicas apply a service change as a delta and detect a missed one by a
 * hole in the change numbers: every write takes the next number, a failed one
 * takes none, and the number read before all() covers everything it returns.
 */
describe.each(["postgres", "embedded"] as const)("SqlServiceRepository change numbers (%s)", (kind) => {
  let dataSource: DataSource;
  let services: SqlServiceRepository;
  let cleanup: () => Promise<void>;
  const slug = () => `versioned-${Math.random().toString(36).slice(2, 10)}`;
  const create = (name = slug()) =>
    services.create({
      slug: name,
      displayName: name,
      description: "",
      audience: name,
      roles: ["viewer"],
      hosts: [],
    });

  beforeAll(async () => {
    if (kind === "postgres") {
      const database = await createTestDatabase();
      dataSource = await openDataSource({ kind: "postgres", url: database.url, poolSize: 4 });
      cleanup = async () => {
        await dataSource.destroy();
        await database.drop();
      };
    } else {
      const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-versions-"));
      dataSource = await openDataSource({ kind: "embedded", dataDir });
      cleanup = async () => {
        await dataSource.destroy();
        await rm(dataDir, { recursive: true, force: true });
      };
    }
    services = new SqlServiceRepository(new Sql(dataSource, { embedded: kind === "embedded" }));
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it("numbers every create, update and delete with the next change number, without holes", async () => {
    const start = await services.directoryVersion();
    const created = await create();
    expect(created.version).toBe(start + 1);
    const updated = await services.update(created.id, { status: "disabled" });
    expect(updated?.version).toBe(start + 2);
    expect((await services.findById(created.id))?.version).toBe(start + 2);
    expect(await services.delete(created.id)).toBe(start + 3);
    expect(await services.directoryVersion()).toBe(start + 3);
  });

  it("takes no number for a write that fails or finds no service", async () => {
    const existing = await create();
    const start = await services.directoryVersion();
    await expect(create(existing.slug)).rejects.toMatchObject({ reason: "service_exists" });
    const other = await create();
    expect(other.version).toBe(start + 1);
    await expect(services.update(other.id, { audience: existing.audience })).rejects.toMatchObject({
      reason: "service_exists",
    });
    expect(
      await services.update("00000000-0000-4000-8000-000000000000", { status: "disabled" }),
    ).toBeUndefined();
    expect(await services.delete("00000000-0000-4000-8000-000000000000")).toBeUndefined();
    expect(await services.directoryVersion()).toBe(start + 1);
  });

  it("gives concurrent writers distinct, consecutive numbers", async () => {
    const targets = await Promise.all(Array.from({ length: 4 }, () => create()));
    const start = await services.directoryVersion();
    const written = await Promise.all(
      targets.map((target) => services.update(target.id, { description: "x" })),
    );
    const numbers = written.map((service) => service!.version).sort((a, b) => a - b);
    expect(numbers).toEqual([start + 1, start + 2, start + 3, start + 4]);
  });
});
