import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_ROLE, PERMISSION_NAMES, USER_ROLE } from "../../../src/domain/roles/permissions.ts";
import { openDataSource } from "../../../src/persistence/data-source.ts";
import { SqlRoleRepository } from "../../../src/persistence/role-repository.ts";
import { Sql } from "../../../src/persistence/sql.ts";
import { SqlUserRepository } from "../../../src/persistence/user-repository.ts";
import { createTestDatabase } from "../../support/services.ts";

/**
 * Writes that replace a set (DELETE then INSERT) arriving at once, as they do from
 * replicas sharing one PostgreSQL: each must succeed and the last one wins whole.
 * CI once saw a replica exit at start-up on role_permissions_pkey.
 */
describe("set-replacing writes arriving together (real PostgreSQL)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: Awaited<ReturnType<typeof openDataSource>>;
  let roles: SqlRoleRepository;
  let users: SqlUserRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openDataSource({ kind: "postgres", url: database.url, poolSize: 8 });
    const sql = new Sql(dataSource, { embedded: false });
    roles = new SqlRoleRepository(sql);
    users = new SqlUserRepository(sql);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  const rejections = (results: PromiseSettledResult<unknown>[]) =>
    results.filter((result) => result.status === "rejected");

  it("built-in role sync from replicas starting together ends with the whole catalogue", async () => {
    const catalogue = [...PERMISSION_NAMES].sort();
    await roles.syncBuiltInPermissions(ADMIN_ROLE, ["roles.read"]);
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => roles.syncBuiltInPermissions(ADMIN_ROLE, catalogue)),
      );
      expect(rejections(results)).toEqual([]);
    }
    const [admin] = await roles.findByNames([ADMIN_ROLE]);
    expect(admin?.permissions).toEqual(catalogue);
  });

  it("concurrent role assignments to one user each succeed; one of them is the result", async () => {
    const id = randomUUID();
    await users.create({
      id,
      username: `race-${id.slice(0, 8)}`,
      email: `race-${id.slice(0, 8)}@example.test`,
      emailVerified: true,
      profile: {},
      roles: [USER_ROLE],
    });
    const choices = [[USER_ROLE], [USER_ROLE, ADMIN_ROLE], [ADMIN_ROLE]];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) => users.setRoles(id, choices[index % choices.length]!)),
      );
      expect(rejections(results)).toEqual([]);
      const roleNames = (await users.getUser(id))?.roles.slice().sort();
      expect(choices.map((choice) => [...choice].sort())).toContainEqual(roleNames);
    }
  });

  it("guarded writes taking away two administrators at once: exactly one is refused as last_admin", async () => {
    // Only these two are active administrators in this database.
    await dataSource.query(`UPDATE users SET status = 'disabled'`);
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) {
      await users.create({
        id,
        username: `admin-${id.slice(0, 8)}`,
        email: `admin-${id.slice(0, 8)}@example.test`,
        emailVerified: true,
        profile: {},
        roles: [ADMIN_ROLE],
      });
    }
    const guard = { keepAnActiveAdmin: true };
    const writes = [
      (id: string) => users.setRoles(id, [USER_ROLE], guard),
      (id: string) => users.update(id, { status: "disabled" }, guard),
      (id: string) => users.delete(id, guard),
    ];
    for (let round = 0; round < 6; round++) {
      const take = writes[round % writes.length]!;
      const results = await Promise.allSettled(ids.map((id) => take(id)));
      const refused = rejections(results).map((result) => (result as PromiseRejectedResult).reason.reason);
      expect(refused, `round ${round}`).toEqual(["last_admin"]);
      // Restore both for the next round.
      const survivor = ids[results.findIndex((result) => result.status === "rejected")]!;
      const fallen = ids.find((id) => id !== survivor)!;
      if ((await users.getUser(fallen)) === undefined) {
        await users.create({
          id: fallen,
          username: `admin-${fallen.slice(0, 8)}`,
          email: `admin-${fallen.slice(0, 8)}@example.test`,
          emailVerified: true,
          profile: {},
          roles: [ADMIN_ROLE],
        });
      }
      await users.setRoles(fallen, [ADMIN_ROLE]);
      await users.update(fallen, { status: "active" });
    }
  });
});
