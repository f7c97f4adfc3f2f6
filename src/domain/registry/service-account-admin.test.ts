import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld } from "../../../test/support/fakes/identity-world.ts";
import { MemoryServiceAccountRepository } from "../../../test/support/fakes/memory-service-account-repository.ts";
import type { MemoryService } from "../../../test/support/fakes/memory-service-catalog.ts";
import { GrantService } from "../grants/grant-service.ts";
import { ADMIN_ROLE } from "../roles/permissions.ts";
import { ServiceAccountService } from "../service-accounts/service-account-service.ts";
import type { User } from "../users/user.ts";
import { ServiceAccountAdmin } from "./service-account-admin.ts";

describe("ServiceAccountAdmin", () => {
  let world: IdentityWorld;
  let repository: MemoryServiceAccountRepository;
  let accounts: ServiceAccountService;
  let admin: ServiceAccountAdmin;
  let root: User;
  let billing: MemoryService;

  beforeEach(async () => {
    world = new IdentityWorld();
    repository = new MemoryServiceAccountRepository();
    accounts = new ServiceAccountService({
      repository,
      revocations: world.revocations,
      changes: world.changes,
    });
    const audit = world.audit;
    const grants = new GrantService({
      repository: world.grants,
      accessChanges: world.changes,
      access: world.access,
      audit,
      ceiling: world.ceiling,
    });
    admin = new ServiceAccountAdmin({
      accounts,
      grants,
      access: world.access,
      audit,
      ceiling: world.ceiling,
    });
    root = await world.person({ roles: [ADMIN_ROLE] });
    billing = world.services.add("billing");
  });

  const as = (user: User) => world.caller(user);

  it("lets a services.write holder manage only accounts whose grants it holds", async () => {
    const { account, clientSecret } = await admin.create(as(root), {
      name: "billing-bot",
      description: "",
      grants: [{ serviceId: billing.id, role: "editor" }],
    });
    const operator = await world.person({ roles: [await world.role(["services.read", "services.write"])] });
    for (const attempt of [
      admin.rotateSecret(as(operator), account.id, { keepIssuedTokens: false }),
      admin.update(as(operator), account.id, { disabled: true }),
      admin.delete(as(operator), account.id),
    ]) {
      const error = await domainFailure(attempt);
      expect([error.kind, error.reason]).toEqual(["permission_denied", "target_more_privileged"]);
    }
    expect((await accounts.verify("billing-bot", clientSecret)).disabled).toBe(false);
    expect(world.revocations.subjectCutoffs.has(account.id)).toBe(false);

    // Holding a higher role on the service is enough; so is grants.write.
    await world.grants.replace({ kind: "user", id: operator.id }, [{ serviceId: billing.id, role: "owner" }]);
    const rotated = await admin.rotateSecret(as(operator), account.id, { keepIssuedTokens: false });
    await accounts.verify("billing-bot", rotated);
    expect((await domainFailure(accounts.verify("billing-bot", clientSecret))).reason).toBe("invalid_client");
  });

  it("needs services.write, and grants.write to create an account with grants", async () => {
    const operator = await world.person({ roles: [await world.role(["services.read", "services.write"])] });
    const error = await domainFailure(
      admin.create(as(operator), {
        name: "owner-bot",
        description: "",
        grants: [{ serviceId: billing.id, role: "owner" }],
      }),
    );
    expect([error.reason, error.metadata.permission]).toEqual(["missing_permission", "grants.write"]);
    const plain = await world.person();
    expect(
      (await domainFailure(admin.rotateSecret(as(plain), "any", { keepIssuedTokens: false }))).metadata
        .permission,
    ).toBe("services.write");
    const created = await admin.create(as(operator), { name: "plain-bot", description: "", grants: [] });
    await admin.update(as(operator), created.account.id, { disabled: true });
    expect(world.revocations.subjectCutoffs.has(created.account.id)).toBe(true);
    expect(world.changes.announced).toContain(created.account.id);
  });
});
