import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld } from "../../../test/support/fakes/identity-world.ts";
import type { MemoryService } from "../../../test/support/fakes/memory-service-catalog.ts";
import type { User } from "../users/user.ts";
import { BusinessRoleService } from "./business-role-service.ts";
import { ADMIN_ROLE } from "./permissions.ts";

describe("BusinessRoleService", () => {
  let world: IdentityWorld;
  let service: BusinessRoleService;
  let admin: User;
  let billing: MemoryService;
  let tickets: MemoryService;

  beforeEach(async () => {
    world = new IdentityWorld();
    service = new BusinessRoleService({
      businessRoles: world.businessRoles,
      services: world.services,
      access: world.access,
      ceiling: world.ceiling,
      audit: world.audit,
      changes: world.changes,
    });
    admin = await world.person({ roles: [ADMIN_ROLE] });
    billing = world.services.add("billing");
    tickets = world.services.add("tickets", ["reader", "agent"]);
  });

  const as = (user: User) => world.caller(user);

  it("needs roles.read to read and roles.write to write", async () => {
    const plain = await world.person();
    const bundle = await world.businessRole([]);
    for (const [permission, attempt] of [
      ["roles.read", service.get(as(plain), bundle.id)],
      ["roles.read", service.list(as(plain), { pageSize: 0, pageToken: "" })],
      ["roles.write", service.create(as(plain), { name: "x", description: "", grants: [] })],
      ["roles.write", service.update(as(plain), bundle.id, { name: "y" })],
      ["roles.write", service.delete(as(plain), bundle.id)],
    ] as const) {
      const error = await domainFailure(attempt);
      expect([error.reason, error.metadata.permission]).toEqual(["missing_permission", permission]);
    }
  });

  it("takes grants naming registered services and roles they define, without duplicates", async () => {
    const unknownService = randomUUID();
    const missing = await domainFailure(
      service.create(as(admin), {
        name: "x",
        description: "",
        grants: [{ serviceId: unknownService, role: "viewer" }],
      }),
    );
    expect([missing.kind, missing.reason, missing.metadata.service_id]).toEqual([
      "not_found",
      "service_not_found",
      unknownService,
    ]);
    const badRole = await domainFailure(
      service.create(as(admin), {
        name: "x",
        description: "",
        grants: [{ serviceId: billing.id, role: "agent" }],
      }),
    );
    expect([badRole.kind, badRole.reason, badRole.violations[0]?.field]).toEqual([
      "invalid_argument",
      "unknown_service_role",
      "grants",
    ]);
    const created = await service.create(as(admin), {
      name: "support agent",
      description: "",
      grants: [
        { serviceId: billing.id, role: "viewer" },
        { serviceId: billing.id, role: "viewer" },
        { serviceId: tickets.id, role: "agent" },
      ],
    });
    expect(created.grants).toEqual([
      { serviceId: billing.id, role: "viewer" },
      { serviceId: tickets.id, role: "agent" },
    ]);
    expect(world.auditEvents.events.at(-1)).toMatchObject({
      action: "business_roles.create",
      result: "success",
      targetKind: "business_role",
      targetId: created.id,
      details: { name: "support agent" },
    });
    expect((await service.get(as(admin), created.id)).name).toBe("support agent");
    expect((await domainFailure(service.get(as(admin), randomUUID()))).reason).toBe(
      "business_role_not_found",
    );
  });

  it("lets a roles.write holder bundle only grants it holds (or any, with grants.write)", async () => {
    const author = await world.person({
      roles: [await world.role(["roles.write"])],
      grants: [{ serviceId: billing.id, role: "editor" }],
    });
    const owner = {
      name: "billing owners",
      description: "",
      grants: [{ serviceId: billing.id, role: "owner" }],
    };
    const escalation = await domainFailure(service.create(as(author), owner));
    expect([escalation.kind, escalation.reason, escalation.metadata.missing]).toEqual([
      "permission_denied",
      "privilege_escalation",
      `${billing.id}:owner`,
    ]);
    expect(world.businessRoles.roles.size).toBe(0);
    // A lower role than one held is held.
    const viewers = await service.create(as(author), {
      name: "billing viewers",
      description: "",
      grants: [{ serviceId: billing.id, role: "viewer" }],
    });
    const raised = await domainFailure(
      service.update(as(author), viewers.id, { grants: [{ serviceId: billing.id, role: "owner" }] }),
    );
    expect(raised.reason).toBe("privilege_escalation");
    expect(world.businessRoles.roles.get(viewers.id)?.grants).toEqual([
      { serviceId: billing.id, role: "viewer" },
    ]);
    const granter = await world.person({ roles: [await world.role(["roles.write", "grants.write"])] });
    await service.create(as(granter), owner);
  });

  it("lets an author rename a bundle or drop grants it does not hold itself", async () => {
    const bundle = await service.create(as(admin), {
      name: "ops",
      description: "",
      grants: [
        { serviceId: billing.id, role: "owner" },
        { serviceId: tickets.id, role: "reader" },
      ],
    });
    const author = await world.person({
      roles: [await world.role(["roles.write"])],
      grants: [{ serviceId: tickets.id, role: "reader" }],
    });
    await service.update(as(author), bundle.id, { name: "operations" });
    const updated = await service.update(as(author), bundle.id, {
      grants: [{ serviceId: tickets.id, role: "reader" }],
    });
    expect(updated).toMatchObject({
      name: "operations",
      grants: [{ serviceId: tickets.id, role: "reader" }],
    });
  });

  it("announces a change of grants or a deletion to every subject, not a rename", async () => {
    const bundle = await service.create(as(admin), { name: "b", description: "", grants: [] });
    await service.update(as(admin), bundle.id, { name: "c", description: "d" });
    expect(world.changes.announced).toEqual([]);
    await service.update(as(admin), bundle.id, { grants: [{ serviceId: billing.id, role: "viewer" }] });
    expect(world.changes.announced).toEqual(["*"]);
    await service.delete(as(admin), bundle.id);
    await service.delete(as(admin), bundle.id);
    expect(world.changes.announced).toEqual(["*", "*"]);
    expect((await domainFailure(service.update(as(admin), bundle.id, { name: "e" }))).reason).toBe(
      "business_role_not_found",
    );
  });
});
