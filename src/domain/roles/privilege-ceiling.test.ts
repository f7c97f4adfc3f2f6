import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld } from "../../../test/support/fakes/identity-world.ts";
import type { MemoryService } from "../../../test/support/fakes/memory-service-catalog.ts";
import { ADMIN_ROLE } from "./permissions.ts";

describe("PrivilegeCeiling", () => {
  let world: IdentityWorld;
  let billing: MemoryService;

  beforeEach(() => {
    world = new IdentityWorld();
    billing = world.services.add("billing");
  });

  const principal = (user: { id: string }) => world.caller(user).principal;

  it("lets accounts manage themselves, and peers holding the same", async () => {
    const role = await world.role(["users.write"]);
    const [one, two] = [await world.person({ roles: [role] }), await world.person({ roles: [role] })];
    await world.ceiling.requireMayManage(principal(one), { kind: "user", id: one.id });
    await world.ceiling.requireMayManage(principal(one), { kind: "user", id: two.id });
  });

  it("names what the target holds beyond the actor, permissions and service roles", async () => {
    const actor = await world.person({ roles: [await world.role(["users.write"])] });
    const target = await world.person({
      roles: [await world.role(["users.write", "audit.read"])],
      grants: [{ serviceId: billing.id, role: "editor" }],
    });
    const error = await domainFailure(
      world.ceiling.requireMayManage(principal(actor), { kind: "user", id: target.id }),
    );
    expect([error.kind, error.reason]).toEqual(["permission_denied", "target_more_privileged"]);
    expect(error.metadata.missing?.split(",").sort()).toEqual([`${billing.id}:editor`, "audit.read"].sort());
  });

  it("applies to service accounts through their grants", async () => {
    const operator = await world.person({ roles: [await world.role(["services.write"])] });
    const account = { kind: "service_account" as const, id: "7d0f2a8e-0000-4000-8000-000000000001" };
    await world.ceiling.requireMayManage(principal(operator), account);
    await world.grants.replace(account, [{ serviceId: billing.id, role: "viewer" }]);
    expect((await domainFailure(world.ceiling.requireMayManage(principal(operator), account))).reason).toBe(
      "target_more_privileged",
    );
    await world.grants.replace({ kind: "user", id: operator.id }, [{ serviceId: billing.id, role: "owner" }]);
    await world.ceiling.requireMayManage(principal(operator), account);
  });

  it("ignores grants on services removed meanwhile", async () => {
    const actor = await world.person({ roles: [await world.role(["users.write"])] });
    const target = await world.person({ grants: [{ serviceId: billing.id, role: "owner" }] });
    world.services.services.delete(billing.id);
    await world.ceiling.requireMayManage(principal(actor), { kind: "user", id: target.id });
  });

  it("lets only an administrator manage an administrator", async () => {
    const admin = await world.person({ roles: [ADMIN_ROLE] });
    const almost = await world.person({
      roles: [
        await world.role(world.roles.byName(ADMIN_ROLE)!.permissions.filter((p) => p !== "vault.write")),
      ],
    });
    expect(
      (await domainFailure(world.ceiling.requireMayManage(principal(almost), { kind: "user", id: admin.id })))
        .metadata.missing,
    ).toBe("vault.write");
    const other = await world.person({ roles: [ADMIN_ROLE] });
    await world.ceiling.requireMayManage(principal(other), { kind: "user", id: admin.id });
  });

  it("confers nothing free: permissions and grants must be held, grants.write stands for any grant", async () => {
    const actor = await world.person({
      roles: [await world.role(["roles.assign"])],
      grants: [{ serviceId: billing.id, role: "editor" }],
    });
    await world.ceiling.requireMayConfer(principal(actor), {});
    await world.ceiling.requireMayConfer(principal(actor), {
      permissions: ["roles.assign"],
      grants: [{ serviceId: billing.id, role: "viewer" }],
    });
    const error = await domainFailure(
      world.ceiling.requireMayConfer(principal(actor), {
        permissions: ["users.write"],
        grants: [{ serviceId: billing.id, role: "owner" }],
      }),
    );
    expect(error.reason).toBe("privilege_escalation");
    expect(error.metadata.missing?.split(",").sort()).toEqual([`${billing.id}:owner`, "users.write"].sort());
    const granter = await world.person({ roles: [await world.role(["grants.write"])] });
    await world.ceiling.requireMayConfer(principal(granter), {
      grants: [{ serviceId: billing.id, role: "owner" }],
    });
  });
});
