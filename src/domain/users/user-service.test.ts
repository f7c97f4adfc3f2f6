import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld, TEST_PASSWORD } from "../../../test/support/fakes/identity-world.ts";
import { GrantService } from "../grants/grant-service.ts";
import { ADMIN_ROLE, USER_ROLE } from "../roles/permissions.ts";
import type { User } from "./user.ts";
import { UserService } from "./user-service.ts";

const NEW_PASSWORD = "Brand-new-pass-77";

/** Who was invited (CreateUser without a password), in order. */
const invited: string[] = [];

function userService(world: IdentityWorld): { users: UserService; grants: GrantService } {
  const grants = new GrantService({
    repository: world.grants,
    accessChanges: world.changes,
    access: world.access,
    audit: world.audit,
    ceiling: world.ceiling,
  });
  const users = new UserService({
    users: world.users,
    userTokens: world.userTokens,
    roles: world.roles,
    businessRoles: world.businessRoles,
    accounts: world.accounts,
    provider: world.provider,
    revocations: world.revocations,
    access: world.access,
    ceiling: world.ceiling,
    audit: world.audit,
    passwordPolicy: world.passwordPolicy,
    changes: world.changes,
    grants,
    invitations: {
      async invite(user) {
        invited.push(user.id);
      },
    },
  });
  return { users, grants };
}

describe("UserService", () => {
  let world: IdentityWorld;
  let service: UserService;
  let grantService: GrantService;
  let admin: User;

  beforeEach(async () => {
    world = new IdentityWorld();
    invited.length = 0;
    ({ users: service, grants: grantService } = userService(world));
    admin = await world.person({ roles: [ADMIN_ROLE] });
  });

  const as = (user: User) => world.caller(user);
  const lastAudit = () => world.auditEvents.events.at(-1)!;

  describe("permissions", () => {
    it("needs users.read to read, users.write to write, roles.assign to assign, audit.read for the log", async () => {
      const plain = await world.person();
      const target = await world.person();
      const attempts: Array<[string, Promise<unknown>]> = [
        ["users.read", service.get(as(plain), target.id)],
        [
          "users.read",
          service.list(as(plain), {
            pageSize: 0,
            pageToken: "",
            query: "",
            status: undefined,
            role: "",
            businessRoleId: "",
            serviceId: "",
          }),
        ],
        [
          "users.write",
          service.create(as(plain), {
            username: "newcomer",
            email: "newcomer@example.test",
            password: undefined,
            emailVerified: false,
            profile: {},
            roles: [],
          }),
        ],
        ["users.write", service.update(as(plain), target.id, { profile: { title: "x" } })],
        ["users.write", service.delete(as(plain), target.id, false)],
        ["users.write", service.setPassword(as(plain), target.id, NEW_PASSWORD)],
        ["roles.assign", service.setRoles(as(plain), target.id, [USER_ROLE])],
        ["roles.assign", service.setBusinessRoles(as(plain), target.id, [])],
        [
          "audit.read",
          service.listAuditEvents(as(plain), {
            pageSize: 0,
            pageToken: "",
            action: "",
            actorId: "",
            targetId: "",
            result: "",
            since: undefined,
            until: undefined,
          }),
        ],
      ];
      for (const [permission, attempt] of attempts) {
        const error = await domainFailure(attempt);
        expect([error.kind, error.reason, error.metadata.permission]).toEqual([
          "permission_denied",
          "missing_permission",
          permission,
        ]);
      }
      const failures = world.auditEvents.events.filter((event) => event.result === "failure");
      expect(failures.map((event) => event.action).sort()).toEqual(
        [
          "users.create",
          "users.delete",
          "users.set_business_roles",
          "users.set_password",
          "users.set_roles",
          "users.update",
        ].sort(),
      );
      expect(failures.every((event) => event.reason === "missing_permission")).toBe(true);
      expect(failures.every((event) => event.actorId === plain.id)).toBe(true);
      expect(world.provider.accounts.get(target.id)?.password).toBe(TEST_PASSWORD);
    });

    it("answers Keycloak synchronisation with keycloak_not_configured, after the permission check", async () => {
      const plain = await world.person();
      expect((await domainFailure(service.requireKeycloak(as(plain), "users.sync"))).reason).toBe(
        "missing_permission",
      );
      const error = await domainFailure(service.requireKeycloak(as(admin), "users.sync"));
      expect([error.kind, error.reason]).toEqual(["failed_precondition", "keycloak_not_configured"]);
    });
  });

  describe("create", () => {
    it("invites a user created without a password, and only then", async () => {
      const base = { emailVerified: false, profile: {}, roles: [] };
      const withPassword = await service.create(as(admin), {
        ...base,
        username: "with-password",
        email: "with-password@example.test",
        password: NEW_PASSWORD,
      });
      expect(invited).toEqual([]);
      const invitee = await service.create(as(admin), {
        ...base,
        username: "invitee",
        email: "invitee@example.test",
        password: undefined,
      });
      expect(invited).toEqual([invitee.id]);
      expect(withPassword.id).not.toBe(invitee.id);
      expect(lastAudit()).toMatchObject({ action: "users.create", details: { invited: "true" } });
    });

    it("creates at the provider and locally with the user role by default, audited with its id", async () => {
      const user = await service.create(as(admin), {
        username: "dana",
        email: "dana@example.test",
        password: "Dana-pass-12345",
        emailVerified: true,
        profile: { firstName: "Dana", title: "Engineer" },
        roles: [],
      });
      expect(user).toMatchObject({ username: "dana", roles: [USER_ROLE], title: "Engineer" });
      expect(world.provider.accounts.get(user.id)?.password).toBe("Dana-pass-12345");
      expect(lastAudit()).toMatchObject({
        action: "users.create",
        result: "success",
        actorId: admin.id,
        targetKind: "user",
        targetId: user.id,
      });
    });

    it("refuses unknown roles, roles holding what the creator lacks, and weak passwords", async () => {
      const creator = await world.person({ roles: [await world.role(["users.write"])] });
      const input = {
        username: "erin",
        email: "erin@example.test",
        password: undefined,
        emailVerified: false,
        profile: {},
      };
      expect((await domainFailure(service.create(as(admin), { ...input, roles: ["nope"] }))).reason).toBe(
        "role_not_found",
      );
      const escalation = await domainFailure(service.create(as(creator), { ...input, roles: [ADMIN_ROLE] }));
      expect([escalation.kind, escalation.reason]).toEqual(["permission_denied", "privilege_escalation"]);
      const weak = await domainFailure(
        service.create(as(admin), { ...input, password: "password123", roles: [] }),
      );
      expect([weak.kind, weak.reason, weak.violations[0]?.field]).toEqual([
        "invalid_argument",
        "weak_password",
        "password",
      ]);
      expect(await world.users.findByLogin("erin")).toBeUndefined();
      expect(world.provider.callsOf("createUser")).toHaveLength(2);
    });
  });

  describe("update", () => {
    it("marks a changed email unverified, updates the provider's copy and announces the change", async () => {
      const member = await world.person();
      const updated = await service.update(as(admin), member.id, {
        email: "moved@example.test",
        profile: { firstName: "Moved", phone: "+1 555" },
      });
      expect(updated).toMatchObject({ email: "moved@example.test", emailVerified: false, phone: "+1 555" });
      expect(world.provider.callsOf("updateUser").at(-1)?.detail).toMatchObject({
        email: "moved@example.test",
        emailVerified: false,
        firstName: "Moved",
        metadata: { phone: "+1 555" },
      });
      expect(world.changes.announced).toEqual([member.id]);
      // The same address in another case stays verified.
      const again = await service.update(as(admin), member.id, { email: "MOVED@example.test", profile: {} });
      expect(again.emailVerified).toBe(false);
      const verified = await service.update(as(admin), member.id, { emailVerified: true, profile: {} });
      const recased = await service.update(as(admin), member.id, {
        email: "Moved@Example.test",
        profile: {},
      });
      expect([verified.emailVerified, recased.emailVerified]).toEqual([true, true]);
    });

    it("ends every session and rejects earlier tokens when disabling, and says so in the audit", async () => {
      const member = await world.person();
      await world.provider.startSession(member, { ip: "", userAgent: "", clientId: "gatehouse" }, ["pwd"]);
      const disabled = await service.update(as(admin), member.id, { status: "disabled", profile: {} });
      expect(disabled.status).toBe("disabled");
      expect(await world.provider.listSessions(member.id)).toEqual([]);
      expect(world.provider.callsOf("endUserSessions").at(-1)).toEqual({
        id: member.id,
        detail: "user_disabled",
      });
      expect(world.revocations.subjectCutoffs.has(member.id)).toBe(true);
      expect(world.provider.accounts.get(member.id)?.fields.enabled).toBe(false);
      expect(lastAudit()).toMatchObject({ action: "users.update", details: { status: "disabled" } });
    });

    it("answers user_not_found for an unknown id", async () => {
      const error = await domainFailure(service.update(as(admin), randomUUID(), { profile: {} }));
      expect([error.kind, error.reason]).toEqual(["not_found", "user_not_found"]);
    });
  });

  describe("delete", () => {
    it("soft-deletes by disabling, hard-deletes everywhere, and is idempotent", async () => {
      const member = await world.person();
      await service.delete(as(admin), member.id, false);
      expect((await world.users.getUser(member.id))?.status).toBe("disabled");
      expect(world.provider.accounts.get(member.id)?.fields.enabled).toBe(false);
      expect(world.revocations.subjectCutoffs.has(member.id)).toBe(true);
      // Soft-deleting a disabled user changes nothing more.
      const updates = world.provider.callsOf("updateUser").length;
      await service.delete(as(admin), member.id, false);
      expect(world.provider.callsOf("updateUser")).toHaveLength(updates);

      await service.delete(as(admin), member.id, true);
      expect(await world.users.getUser(member.id)).toBeUndefined();
      expect(world.provider.accounts.has(member.id)).toBe(false);
      await service.delete(as(admin), member.id, true);
      expect(world.auditEvents.of("users.delete").map((event) => [event.result, event.details.hard])).toEqual(
        [
          ["success", "false"],
          ["success", "false"],
          ["success", "true"],
          ["success", "true"],
        ],
      );
      expect(world.changes.announced.filter((id) => id === member.id)).toHaveLength(3);
    });
  });

  describe("setPassword", () => {
    it("checks the policy against the account, sets the password and ends the sessions", async () => {
      const member = await world.person();
      const weak = await domainFailure(service.setPassword(as(admin), member.id, member.username));
      expect(weak.reason).toBe("weak_password");
      await service.setPassword(as(admin), member.id, NEW_PASSWORD);
      expect(world.provider.accounts.get(member.id)?.password).toBe(NEW_PASSWORD);
      expect(world.provider.callsOf("endUserSessions").at(-1)).toEqual({
        id: member.id,
        detail: "password_set_by_admin",
      });
      expect(world.auditEvents.of("users.set_password").map((event) => event.result)).toEqual([
        "failure",
        "success",
      ]);
    });
  });

  describe("roles and business roles", () => {
    it("assigns roles the assigner holds, audits them sorted, announces the change", async () => {
      const auditor = await world.role(["audit.read"]);
      const member = await world.person();
      const user = await service.setRoles(as(admin), member.id, [USER_ROLE, auditor]);
      expect(user.roles).toEqual([auditor, USER_ROLE].sort());
      expect(lastAudit().details.roles).toBe([USER_ROLE, auditor].sort().join(","));
      expect(world.changes.announced).toEqual([member.id]);
      expect((await domainFailure(service.setRoles(as(admin), member.id, ["nope"]))).reason).toBe(
        "role_not_found",
      );
    });

    it("lets a roles.assign holder hand out only roles whose permissions it holds", async () => {
      const assigner = await world.person({ roles: [await world.role(["roles.assign", "audit.read"])] });
      const member = await world.person();
      const auditor = await world.role(["audit.read"]);
      await service.setRoles(as(assigner), member.id, [USER_ROLE, auditor]);
      const error = await domainFailure(service.setRoles(as(assigner), member.id, [USER_ROLE, ADMIN_ROLE]));
      expect([error.kind, error.reason]).toEqual(["permission_denied", "privilege_escalation"]);
      expect((await world.users.getUser(member.id))?.roles).toEqual([auditor, USER_ROLE].sort());
    });

    it("assigns existing business roles only", async () => {
      const billing = world.services.add("billing");
      const bundle = await world.businessRole([{ serviceId: billing.id, role: "viewer" }]);
      const member = await world.person();
      const missing = randomUUID();
      const error = await domainFailure(service.setBusinessRoles(as(admin), member.id, [bundle.id, missing]));
      expect([error.reason, error.metadata.business_role_id]).toEqual(["business_role_not_found", missing]);
      const user = await service.setBusinessRoles(as(admin), member.id, [bundle.id]);
      expect(user.businessRoleIds).toEqual([bundle.id]);
      expect(lastAudit().details.business_roles).toBe(bundle.id);
      expect(world.changes.announced).toEqual([member.id]);
    });
  });

  describe("the last administrator", () => {
    it("cannot be disabled, deleted or demoted; nothing reaches the provider", async () => {
      const updates = world.provider.callsOf("updateUser").length;
      for (const attempt of [
        service.update(as(admin), admin.id, { status: "disabled", profile: {} }),
        service.delete(as(admin), admin.id, false),
        service.delete(as(admin), admin.id, true),
        service.setRoles(as(admin), admin.id, [USER_ROLE]),
      ]) {
        const error = await domainFailure(attempt);
        expect([error.kind, error.reason]).toEqual(["failed_precondition", "last_admin"]);
      }
      expect(world.provider.callsOf("updateUser")).toHaveLength(updates);
      expect(world.provider.callsOf("deleteUser")).toHaveLength(0);
      expect(await world.users.getUser(admin.id)).toMatchObject({ status: "active", roles: [ADMIN_ROLE] });
      expect(world.revocations.subjectCutoffs.size).toBe(0);
    });

    it("can step down once another active administrator exists; a disabled one does not count", async () => {
      const second = await world.person({ roles: [ADMIN_ROLE] });
      await service.update(as(admin), second.id, { status: "disabled", profile: {} });
      expect((await domainFailure(service.setRoles(as(admin), admin.id, [USER_ROLE]))).reason).toBe(
        "last_admin",
      );
      await service.update(as(admin), second.id, { status: "active", profile: {} });
      await service.setRoles(as(admin), admin.id, [USER_ROLE]);
      expect((await domainFailure(service.delete(as(second), second.id, true))).reason).toBe("last_admin");
    });

    it("lets only one of two administrators demoting each other at once succeed", async () => {
      const second = await world.person({ roles: [ADMIN_ROLE] });
      const results = await Promise.allSettled([
        service.setRoles(as(admin), second.id, [USER_ROLE]),
        service.setRoles(as(second), admin.id, [USER_ROLE]),
      ]);
      expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
      const admins = [...world.users.rows.values()].filter((row) => row.roles.includes(ADMIN_ROLE));
      expect(admins).toHaveLength(1);
    });

    it("is re-activated when the provider fails after the guarded disable", async () => {
      const second = await world.person({ roles: [ADMIN_ROLE] });
      world.provider.failOn("updateUser");
      const error = await domainFailure(
        service.update(as(admin), second.id, { status: "disabled", profile: {} }),
      );
      expect(error.kind).toBe("unavailable");
      expect((await world.users.getUser(second.id))?.status).toBe("active");
      world.provider.failOn("deleteUser");
      await domainFailure(service.delete(as(admin), second.id, true));
      expect((await world.users.getUser(second.id))?.status).toBe("active");
      expect(world.revocations.subjectCutoffs.has(second.id)).toBe(false);
    });
  });

  describe("who may manage whom", () => {
    let support: User;
    beforeEach(async () => {
      support = await world.person({
        roles: [await world.role(["users.read", "users.write", "roles.assign"])],
      });
    });

    it("refuses every write on an administrator to a users.write holder: no takeover", async () => {
      const attempts = [
        service.setPassword(as(support), admin.id, NEW_PASSWORD),
        service.update(as(support), admin.id, { email: "attacker@example.test", profile: {} }),
        service.update(as(support), admin.id, { status: "disabled", profile: {} }),
        service.delete(as(support), admin.id, false),
        service.delete(as(support), admin.id, true),
        service.setRoles(as(support), admin.id, [ADMIN_ROLE, USER_ROLE]),
        service.setBusinessRoles(as(support), admin.id, []),
        service.revokeSessions(as(support), admin.id),
      ];
      for (const attempt of attempts) {
        const error = await domainFailure(attempt);
        expect([error.kind, error.reason]).toEqual(["permission_denied", "target_more_privileged"]);
      }
      expect(world.provider.accounts.get(admin.id)?.password).toBe(TEST_PASSWORD);
      expect(await world.users.getUser(admin.id)).toMatchObject({ email: admin.email, status: "active" });
      expect(world.provider.callsOf("setPassword").filter((call) => call.id === admin.id)).toHaveLength(1);
      const refused = world.auditEvents.events.filter((event) => event.reason === "target_more_privileged");
      expect(refused).toHaveLength(attempts.length);
      expect(refused.every((event) => event.actorId === support.id && event.targetId === admin.id)).toBe(
        true,
      );
    });

    it("lets the same holder manage peers and lesser accounts, and themselves", async () => {
      const peer = await world.person({ roles: [await world.role(["users.write"])] });
      const member = await world.person();
      await service.setPassword(as(support), peer.id, NEW_PASSWORD);
      await service.update(as(support), member.id, { email: "member-new@example.test", profile: {} });
      await service.delete(as(support), member.id, false);
      await service.setPassword(as(support), support.id, NEW_PASSWORD);
      expect(world.provider.accounts.get(peer.id)?.password).toBe(NEW_PASSWORD);
    });

    it("counts service grants, direct and through business roles, ranked by the service's order", async () => {
      const billing = world.services.add("billing");
      const owner = await world.person({ grants: [{ serviceId: billing.id, role: "owner" }] });
      const bundle = await world.businessRole([{ serviceId: billing.id, role: "editor" }]);
      const editor = await world.person({ businessRoleIds: [bundle.id] });
      for (const target of [owner, editor]) {
        expect((await domainFailure(service.setPassword(as(support), target.id, NEW_PASSWORD))).reason).toBe(
          "target_more_privileged",
        );
      }
      // Holding a higher role on the service covers a lower one; grants.write covers any.
      await world.grants.replace({ kind: "user", id: support.id }, [
        { serviceId: billing.id, role: "editor" },
      ]);
      await service.setPassword(as(support), editor.id, NEW_PASSWORD);
      expect((await domainFailure(service.setPassword(as(support), owner.id, NEW_PASSWORD))).reason).toBe(
        "target_more_privileged",
      );
      const granter = await world.person({ roles: [await world.role(["users.write", "grants.write"])] });
      await service.setPassword(as(granter), owner.id, NEW_PASSWORD);
    });

    it("refuses a grants.write holder changing a more privileged account's grants", async () => {
      const billing = world.services.add("billing");
      const granter = await world.person({ roles: [await world.role(["grants.write"])] });
      const grants = [{ serviceId: billing.id, role: "viewer" }];
      const error = await domainFailure(
        grantService.replace(as(granter), { kind: "user", id: admin.id }, grants),
      );
      expect(error.reason).toBe("target_more_privileged");
      expect(await world.grants.list({ kind: "user", id: admin.id })).toEqual([]);
      const member = await world.person();
      await grantService.replace(as(granter), { kind: "user", id: member.id }, grants);
      expect(await world.grants.list({ kind: "user", id: member.id })).toHaveLength(1);
    });

    it("lets a roles.assign holder assign a business role only if it holds every grant the bundle confers", async () => {
      const billing = world.services.add("billing");
      const ownerBundle = await world.businessRole([{ serviceId: billing.id, role: "owner" }]);
      const error = await domainFailure(service.setBusinessRoles(as(support), support.id, [ownerBundle.id]));
      expect([error.kind, error.reason]).toEqual(["permission_denied", "privilege_escalation"]);
      expect((await world.users.getUser(support.id))?.businessRoleIds).toEqual([]);
      expect(await world.grants.businessGrants(support.id)).toEqual([]);

      await world.grants.replace({ kind: "user", id: support.id }, [
        { serviceId: billing.id, role: "owner" },
      ]);
      const member = await world.person();
      await service.setBusinessRoles(as(support), member.id, [ownerBundle.id]);
      // Without the grant, the member now holds more than support does.
      await world.grants.replace({ kind: "user", id: support.id }, []);
      expect((await domainFailure(service.setBusinessRoles(as(support), member.id, []))).reason).toBe(
        "target_more_privileged",
      );
      const granter = await world.person({ roles: [await world.role(["roles.assign", "grants.write"])] });
      await service.setBusinessRoles(as(granter), granter.id, [ownerBundle.id]);
    });
  });

  describe("the signed-in user", () => {
    it("GetMe answers the user, their sorted permissions and their grants", async () => {
      const billing = world.services.add("billing");
      const bundle = await world.businessRole([{ serviceId: billing.id, role: "viewer" }]);
      const member = await world.person({
        roles: [USER_ROLE, await world.role(["users.read", "audit.read"])],
        businessRoleIds: [bundle.id],
      });
      const me = await service.getMe(as(member));
      expect(me.user.id).toBe(member.id);
      expect(me.permissions).toEqual(["audit.read", "users.read"]);
      expect(me.grants).toEqual([
        {
          serviceId: billing.id,
          serviceSlug: "billing",
          role: "viewer",
          source: `business_role:${bundle.id}`,
        },
      ]);
      const error = await domainFailure(service.getMe(world.caller(member, "service_account")));
      expect([error.kind, error.reason]).toEqual(["permission_denied", "not_a_user"]);
    });

    it("UpdateMe changes the profile only, mirrors names and metadata to the provider, and is audited", async () => {
      const member = await world.person();
      const user = await service.updateMe(as(member), { firstName: "Mia", title: "Lead", links: [] });
      expect(user).toMatchObject({ firstName: "Mia", title: "Lead", roles: [USER_ROLE] });
      expect(world.provider.callsOf("updateUser").at(-1)).toEqual({
        id: member.id,
        detail: { firstName: "Mia", metadata: { title: "Lead", links: [] } },
      });
      expect(lastAudit()).toMatchObject({
        action: "users.update_self",
        actorId: member.id,
        targetId: member.id,
      });
      expect(world.changes.announced).toEqual([member.id]);
      const before = world.provider.calls.length;
      await service.updateMe(as(member), {});
      expect(world.provider.calls).toHaveLength(before);
    });
  });
});
