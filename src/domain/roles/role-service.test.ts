import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld } from "../../../test/support/fakes/identity-world.ts";
import type { User } from "../users/user.ts";
import { ADMIN_ROLE, PERMISSION_NAMES, USER_ROLE } from "./permissions.ts";
import { RoleService } from "./role-service.ts";

describe("RoleService", () => {
  let world: IdentityWorld;
  let service: RoleService;
  let admin: User;

  beforeEach(async () => {
    world = new IdentityWorld();
    service = new RoleService({
      roles: world.roles,
      access: world.access,
      audit: world.audit,
      changes: world.changes,
    });
    admin = await world.person({ roles: [ADMIN_ROLE] });
  });

  const as = (user: User) => world.caller(user);
  const builtIn = (name: string) => world.roles.byName(name)!;

  it("at start-up gives admin the whole catalogue and the user role nothing", async () => {
    await world.roles.syncBuiltInPermissions(ADMIN_ROLE, ["users.read"]);
    await world.roles.syncBuiltInPermissions(USER_ROLE, ["users.write", "roles.write"]);
    await service.ensureBuiltInRoles();
    expect(builtIn(ADMIN_ROLE).permissions).toEqual([...PERMISSION_NAMES].sort());
    expect(builtIn(USER_ROLE).permissions).toEqual([]);
  });

  it("needs roles.read to read and roles.write to write", async () => {
    const plain = await world.person();
    const role = builtIn(USER_ROLE);
    for (const [permission, attempt] of [
      ["roles.read", service.get(as(plain), role.id)],
      ["roles.read", service.list(as(plain), { pageSize: 0, pageToken: "" })],
      ["roles.read", service.listPermissions(as(plain))],
      ["roles.write", service.create(as(plain), { name: "x", description: "", permissions: [] })],
      ["roles.write", service.update(as(plain), role.id, { description: "x" })],
      ["roles.write", service.delete(as(plain), role.id)],
    ] as const) {
      const error = await domainFailure(attempt);
      expect([error.reason, error.metadata.permission]).toEqual(["missing_permission", permission]);
    }
    expect(world.auditEvents.events.map((event) => `${event.action}:${event.reason}`).sort()).toEqual([
      "roles.create:missing_permission",
      "roles.delete:missing_permission",
      "roles.update:missing_permission",
    ]);
    expect((await service.listPermissions(as(admin))).map((p) => p.name)).toEqual(PERMISSION_NAMES);
  });

  it("creates roles of known permissions the creator holds, audited with the name", async () => {
    const unknown = await domainFailure(
      service.create(as(admin), { name: "pilot", description: "", permissions: ["users.fly", "users.read"] }),
    );
    expect([unknown.kind, unknown.reason]).toEqual(["invalid_argument", "unknown_permission"]);
    expect(unknown.violations).toEqual([
      { field: "permissions.permissions", description: '"users.fly" is not a Gatehouse permission' },
    ]);
    const author = await world.person({ roles: [await world.role(["roles.write", "audit.read"])] });
    const escalation = await domainFailure(
      service.create(as(author), {
        name: "auditor-plus",
        description: "",
        permissions: ["audit.read", "users.write"],
      }),
    );
    expect([escalation.reason, escalation.metadata.permissions]).toEqual([
      "privilege_escalation",
      "users.write",
    ]);
    const role = await service.create(as(author), {
      name: "auditor",
      description: "reads",
      permissions: ["audit.read"],
    });
    expect(role).toMatchObject({ name: "auditor", permissions: ["audit.read"], builtIn: false });
    expect(world.auditEvents.events.at(-1)).toMatchObject({
      action: "roles.create",
      result: "success",
      targetId: role.id,
      details: { name: "auditor" },
    });
    expect((await service.get(as(admin), role.id)).name).toBe("auditor");
    expect((await domainFailure(service.get(as(admin), "nope"))).reason).toBe("role_not_found");
  });

  it("lets an author add to a role only what it holds, and take away anything", async () => {
    const author = await world.person({ roles: [await world.role(["roles.write", "audit.read"])] });
    const role = await service.create(as(admin), {
      name: "ops",
      description: "",
      permissions: ["users.read", "audit.read"],
    });
    const escalation = await domainFailure(
      service.update(as(author), role.id, { permissions: ["users.read", "audit.read", "users.write"] }),
    );
    expect(escalation.reason).toBe("privilege_escalation");
    const updated = await service.update(as(author), role.id, { permissions: ["audit.read"] });
    expect(updated.permissions).toEqual(["audit.read"]);
    // Permissions are read on every call: only a rename is announced (names appear on users).
    expect(world.changes.announced).toEqual([]);
    await service.update(as(author), role.id, { name: "operations" });
    expect(world.changes.announced).toEqual(["*"]);
  });

  it("keeps the built-in roles: names, admin's permissions, the user role's permissions, existence", async () => {
    const roleWriter = await world.person({ roles: [await world.role(["roles.write", "users.read"])] });
    const attempts = [
      service.update(as(admin), builtIn(ADMIN_ROLE).id, { name: "root" }),
      service.update(as(admin), builtIn(ADMIN_ROLE).id, { permissions: [] }),
      service.update(as(admin), builtIn(USER_ROLE).id, { name: "member" }),
      // Every sign-up gets the user role: no one may put permissions in it, even those they hold.
      service.update(as(roleWriter), builtIn(USER_ROLE).id, { permissions: ["users.read"] }),
      service.update(as(admin), builtIn(USER_ROLE).id, { permissions: ["roles.write"] }),
      service.delete(as(admin), builtIn(USER_ROLE).id),
      service.delete(as(admin), builtIn(ADMIN_ROLE).id),
    ];
    for (const attempt of attempts) {
      const error = await domainFailure(attempt);
      expect([error.kind, error.reason]).toEqual(["failed_precondition", "built_in_role"]);
    }
    expect(builtIn(USER_ROLE).permissions).toEqual([]);
    expect(builtIn(ADMIN_ROLE).permissions).toEqual([...PERMISSION_NAMES].sort());
    // Descriptions may change.
    expect(
      (await service.update(as(admin), builtIn(USER_ROLE).id, { description: "everyone" })).description,
    ).toBe("everyone");
  });

  it("deletes custom roles idempotently, announcing the change", async () => {
    const role = await service.create(as(admin), { name: "temp", description: "", permissions: [] });
    await service.delete(as(admin), role.id);
    await service.delete(as(admin), role.id);
    expect(world.roles.byName("temp")).toBeUndefined();
    expect(world.changes.announced).toEqual(["*"]);
    expect(world.auditEvents.of("roles.delete").map((event) => event.result)).toEqual(["success", "success"]);
  });
});
