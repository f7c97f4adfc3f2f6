import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, setGrants } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  ROLES,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";

/**
 * The attacks a lesser administrator could make on a more privileged account,
 * or on the privileges it may hand out, through the real server on PostgreSQL:
 * each is refused and leaves the target as it was.
 */
describe("who may manage whom (postgres)", () => {
  let server: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A signed-in account holding a custom role with `permissions`. */
  async function holderOf(permissions: string[]): Promise<{ id: string; token: string; username: string }> {
    const role = (
      await ok(
        server.url,
        `${ROLES}/CreateRole`,
        { name: uniqueName("role"), permissions: { permissions } },
        admin,
      )
    ).role;
    const username = uniqueName("holder");
    const password = "Holder-pass-12345";
    const { user } = await ok(
      server.url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password,
        emailVerified: true,
        roles: ["user", role.name],
      },
      admin,
    );
    return { id: user.id, username, token: (await loginTokens(server.url, username, password)).accessToken };
  }

  /** A second administrator to attack, so that a successful attack spoils no other test. */
  async function victimAdmin(): Promise<{ id: string; username: string; email: string; password: string }> {
    const username = uniqueName("admin");
    const password = "Victim-admin-pass-1";
    const email = `${username}@example.test`;
    const { user } = await ok(
      server.url,
      `${USERS}/CreateUser`,
      { username, email, password, emailVerified: true, roles: ["admin"] },
      admin,
    );
    return { id: user.id, username, email, password };
  }

  const refused = { code: "permission_denied", reason: "target_more_privileged" };

  it("refuses a users.write holder the administrator's password, email, status and account", async () => {
    const support = await holderOf(["users.read", "users.write"]);
    const victim = await victimAdmin();
    const attacks: Array<[string, Record<string, unknown>]> = [
      ["SetUserPassword", { userId: victim.id, password: "Taken-over-pass-1" }],
      ["UpdateUser", { userId: victim.id, email: "attacker@example.test" }],
      ["UpdateUser", { userId: victim.id, status: "USER_STATUS_DISABLED" }],
      ["DeleteUser", { userId: victim.id }],
      ["DeleteUser", { userId: victim.id, hard: true }],
    ];
    for (const [method, body] of attacks) {
      expect(await fails(server.url, `${USERS}/${method}`, body, support.token), method).toMatchObject(
        refused,
      );
    }
    // Nothing changed: the administrator signs in with the old password, at the old address.
    const victimToken = (await loginTokens(server.url, victim.username, victim.password)).accessToken;
    expect(
      await fails(server.url, `${AUTH}/Login`, { login: victim.username, password: "Taken-over-pass-1" }),
    ).toMatchObject({ code: "unauthenticated" });
    const me = await ok(server.url, `${AUTH}/GetMe`, {}, victimToken);
    expect(me.user).toMatchObject({ email: victim.email, status: "USER_STATUS_ACTIVE", roles: ["admin"] });
    const audit = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { actorId: support.id, result: "failure" },
      admin,
    );
    expect(audit.events.map((event: any) => `${event.action}:${event.reason}`)).toEqual(
      expect.arrayContaining([
        "users.set_password:target_more_privileged",
        "users.update:target_more_privileged",
      ]),
    );
    // The same holder still manages ordinary users.
    const plain = await signUpAndLogin(server.url);
    await ok(
      server.url,
      `${USERS}/SetUserPassword`,
      { userId: plain.id, password: "Reset-by-support-1" },
      support.token,
    );
  });

  it("refuses a users.write holder an account with a service role it lacks", async () => {
    const billing = await createService(server.url, admin);
    const owner = await signUpAndLogin(server.url);
    await setGrants(server.url, admin, owner.id, [{ serviceId: billing.id, role: "owner" }]);
    const support = await holderOf(["users.write"]);
    expect(
      await fails(
        server.url,
        `${USERS}/SetUserPassword`,
        { userId: owner.id, password: "Taken-over-pass-1" },
        support.token,
      ),
    ).toMatchObject(refused);
    await loginTokens(server.url, owner.username, owner.password);
  });

  it("refuses a roles.assign holder a business role that confers owner on a service", async () => {
    const billing = await createService(server.url, admin);
    const bundle = (
      await ok(
        server.url,
        `${ROLES}/CreateBusinessRole`,
        { name: uniqueName("billing owners"), grants: [{ serviceId: billing.id, role: "owner" }] },
        admin,
      )
    ).businessRole;
    const assigner = await holderOf(["roles.assign"]);
    expect(
      await fails(
        server.url,
        `${USERS}/SetUserBusinessRoles`,
        { userId: assigner.id, businessRoleIds: [bundle.id] },
        assigner.token,
      ),
    ).toMatchObject({ code: "permission_denied", reason: "privilege_escalation" });
    const me = await ok(server.url, `${AUTH}/GetMe`, {}, assigner.token);
    // Connect JSON writes out empty lists (alwaysEmitImplicit).
    expect(me.user.businessRoleIds).toEqual([]);
    expect(me.grants).toEqual([]);
    // Nor may a roles.write holder raise a bundle it holds.
    const author = await holderOf(["roles.write"]);
    expect(
      await fails(
        server.url,
        `${ROLES}/CreateBusinessRole`,
        { name: uniqueName("mine"), grants: [{ serviceId: billing.id, role: "owner" }] },
        author.token,
      ),
    ).toMatchObject({ code: "permission_denied", reason: "privilege_escalation" });
  });

  it("refuses a roles.write holder adding permissions to the user role every sign-up receives", async () => {
    const author = await holderOf(["roles.read", "roles.write", "users.read"]);
    const roles = (await ok(server.url, `${ROLES}/ListRoles`, {}, admin)).roles;
    const userRole = roles.find((role: any) => role.name === "user");
    expect(
      await fails(
        server.url,
        `${ROLES}/UpdateRole`,
        { roleId: userRole.id, permissions: { permissions: ["users.read"] } },
        author.token,
      ),
    ).toMatchObject({ code: "failed_precondition", reason: "built_in_role" });
    const newcomer = await signUpAndLogin(server.url);
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, newcomer.tokens.accessToken)).permissions).toEqual([]);
  });

  it("refuses a services.write holder a service account that holds a role it lacks", async () => {
    const billing = await createService(server.url, admin);
    const created = await ok(
      server.url,
      `${REGISTRY}/CreateServiceAccount`,
      { name: uniqueName("billing-bot"), grants: [{ serviceId: billing.id, role: "owner" }] },
      admin,
    );
    const serviceAccountId = created.serviceAccount.id;
    const operator = await holderOf(["services.read", "services.write"]);
    for (const [method, body] of [
      ["RotateServiceAccountSecret", { serviceAccountId }],
      ["UpdateServiceAccount", { serviceAccountId, disabled: true }],
      ["DeleteServiceAccount", { serviceAccountId }],
    ] as const) {
      expect(await fails(server.url, `${REGISTRY}/${method}`, body, operator.token), method).toMatchObject(
        refused,
      );
    }
    // The old secret still works: nothing was rotated, disabled or deleted.
    await ok(server.url, `${AUTH}/ClientCredentialsToken`, {
      clientId: created.serviceAccount.clientId,
      clientSecret: created.clientSecret,
    });
    // An account with no grants is the operator's to manage.
    const plain = await ok(
      server.url,
      `${REGISTRY}/CreateServiceAccount`,
      { name: uniqueName("plain-bot") },
      admin,
    );
    await ok(
      server.url,
      `${REGISTRY}/RotateServiceAccountSecret`,
      { serviceAccountId: plain.serviceAccount.id },
      operator.token,
    );
  });

  it("refuses a grants.write holder changing an administrator's grants", async () => {
    const billing = await createService(server.url, admin);
    const granter = await holderOf(["grants.write"]);
    const victim = await victimAdmin();
    expect(
      await fails(
        server.url,
        `${USERS}/SetServiceGrants`,
        { userId: victim.id, grants: [{ serviceId: billing.id, role: "viewer" }] },
        granter.token,
      ),
    ).toMatchObject(refused);
    const listed = await ok(server.url, `${USERS}/ListServiceGrants`, { userId: victim.id }, admin);
    expect(listed.directGrants).toEqual([]);
  });
});
