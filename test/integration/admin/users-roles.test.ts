import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  ROLES,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  unary,
  uniqueName,
} from "../../support/identity.ts";

const CATALOGUE = [
  "users.read",
  "users.write",
  "users.sync",
  "roles.read",
  "roles.write",
  "roles.assign",
  "services.read",
  "services.write",
  "grants.write",
  "clients.read",
  "clients.write",
  "audit.read",
  "changes.watch",
  "vault.read",
  "vault.write",
  "keys.manage",
];

describe.each(BACKENDS)("user, role and business-role administration (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;
  let admin: string;
  let adminId: string;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: IDENTITY_ENV });
    clients = identityClients(server.url);
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    adminId = (await ok(server.url, `${AUTH}/GetMe`, {}, admin)).user.id;
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  /** A registered service, written straight to the registry's table. */
  async function service(roles: string[] = ["viewer", "editor", "owner"]): Promise<string> {
    const slug = uniqueName("svc");
    const rows = await server.gatehouse.dataSource.query(
      `INSERT INTO services (slug, display_name, audience, roles) VALUES ($1, $1, $1, $2) RETURNING id`,
      [slug, roles],
    );
    return rows[0].id;
  }

  async function createUser(body: Record<string, unknown> = {}) {
    const username = uniqueName("member");
    const response = await ok(
      server.url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: "Member-pass-123",
        emailVerified: true,
        ...body,
      },
      admin,
    );
    return { ...response.user, password: "Member-pass-123" };
  }

  it("bootstraps the administrator with every permission, once", async () => {
    const me = await ok(server.url, `${AUTH}/GetMe`, {}, admin);
    expect(me.user).toMatchObject({ username: TEST_ADMIN.username, roles: ["admin"], emailVerified: true });
    expect(me.permissions).toEqual(expect.arrayContaining(CATALOGUE));
    const catalogue = await ok(server.url, `${ROLES}/ListPermissions`, {}, admin);
    expect(catalogue.permissions.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(CATALOGUE),
    );
    const admins = await ok(server.url, `${USERS}/ListUsers`, { role: "admin" }, admin);
    expect(admins.users.map((user: { username: string }) => user.username)).toEqual([TEST_ADMIN.username]);
  });

  it("denies a plain user every administrative call, and audits the denial", async () => {
    const plain = await signUpAndLogin(server.url);
    const token = plain.tokens.accessToken;
    for (const [procedure, body] of [
      [`${USERS}/ListUsers`, {}],
      [`${USERS}/GetUser`, { userId: adminId }],
      [`${USERS}/CreateUser`, { username: uniqueName("x"), email: "x@example.test" }],
      [`${USERS}/DeleteUser`, { userId: adminId }],
      [`${USERS}/SetUserRoles`, { userId: plain.id, roles: ["admin"] }],
      [`${USERS}/ListAuditEvents`, {}],
      [`${USERS}/SyncFromKeycloak`, {}],
      [`${ROLES}/ListRoles`, {}],
      [`${ROLES}/CreateRole`, { name: "sneaky" }],
      [`${ROLES}/ListBusinessRoles`, {}],
    ] as const) {
      expect(await fails(server.url, procedure, body, token), procedure).toMatchObject({
        code: "permission_denied",
        reason: "missing_permission",
      });
    }
    expect(await grpcFails(clients.users, "listUsers", {}, clients.bearer(token))).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      reason: "missing_permission",
    });
    const denied = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { actorId: plain.id, result: "failure" },
      admin,
    );
    expect(denied.events.map((event: any) => `${event.action}:${event.reason}`)).toEqual(
      expect.arrayContaining(["users.delete:missing_permission", "users.set_roles:missing_permission"]),
    );
  });

  it("creates, reads, searches, pages, updates and deletes users", async () => {
    const created = await unary<any>(
      clients.users,
      "createUser",
      {
        username: uniqueName("carol"),
        email: `${uniqueName("carol")}@example.test`,
        password: "Carol-pass-12345",
        emailVerified: true,
        profile: { firstName: "Carol", lastName: "Zebrafish", organization: "ACME", telegram: "@carol" },
      },
      clients.bearer(admin),
    );
    expect(created.user).toMatchObject({
      firstName: "Carol",
      organization: "ACME",
      roles: ["user"],
      status: "USER_STATUS_ACTIVE",
    });
    const id = created.user.id;
    expect((await ok(server.url, `${USERS}/GetUser`, { userId: id }, admin)).user.lastName).toBe("Zebrafish");
    expect(await fails(server.url, `${USERS}/GetUser`, { userId: randomUUID() }, admin)).toMatchObject({
      code: "not_found",
      reason: "user_not_found",
    });
    await loginTokens(server.url, created.user.username, "Carol-pass-12345");

    const found = await ok(server.url, `${USERS}/ListUsers`, { query: "zebraf" }, admin);
    expect(found.users.map((user: any) => user.id)).toEqual([id]);
    // LIKE's wildcards are taken literally.
    expect((await ok(server.url, `${USERS}/ListUsers`, { query: "%" }, admin)).users).toEqual([]);

    const updated = await ok(
      server.url,
      `${USERS}/UpdateUser`,
      { userId: id, profile: { title: "CTO", organization: "" } },
      admin,
    );
    expect(updated.user).toMatchObject({ title: "CTO", firstName: "Carol" });
    expect(updated.user.organization).toBe("");
    const other = await createUser();
    expect(
      await fails(server.url, `${USERS}/UpdateUser`, { userId: id, email: other.email }, admin),
    ).toMatchObject({
      code: "already_exists",
    });

    await ok(server.url, `${USERS}/DeleteUser`, { userId: id }, admin);
    expect((await ok(server.url, `${USERS}/GetUser`, { userId: id }, admin)).user.status).toBe(
      "USER_STATUS_DISABLED",
    );
    const disabled = await ok(server.url, `${USERS}/ListUsers`, { status: "USER_STATUS_DISABLED" }, admin);
    expect(disabled.users.map((user: any) => user.id)).toContain(id);
    await ok(server.url, `${USERS}/DeleteUser`, { userId: id, hard: true }, admin);
    expect((await fails(server.url, `${USERS}/GetUser`, { userId: id }, admin)).code).toBe("not_found");
    await ok(server.url, `${USERS}/DeleteUser`, { userId: id, hard: true }, admin);
  });

  it("pages through users with a stable keyset order", async () => {
    const prefix = uniqueName("page");
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push(
        (
          await ok(
            server.url,
            `${USERS}/CreateUser`,
            { username: `${prefix}-${index}`, email: `${prefix}-${index}@example.test` },
            admin,
          )
        ).user.id,
      );
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await ok(
        server.url,
        `${USERS}/ListUsers`,
        { query: prefix, pageSize: 2, pageToken },
        admin,
      );
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((user: any) => user.id));
      pageToken = page.nextPageToken ?? "";
    } while (pageToken !== "");
    expect(seen).toEqual(ids);
    expect(await fails(server.url, `${USERS}/ListUsers`, { pageToken: "bm9wZQ" }, admin)).toMatchObject({
      code: "invalid_argument",
      reason: "invalid_page_token",
    });
  });

  it("filters users by business role and by service (direct or through a business role), combinably, in keyset pages", async () => {
    const billing = await service();
    const tickets = await service();
    const businessRole = async (serviceId: string) =>
      (
        await ok(
          server.url,
          `${ROLES}/CreateBusinessRole`,
          { name: uniqueName("team"), grants: [{ serviceId, role: "viewer" }] },
          admin,
        )
      ).businessRole.id as string;
    const billingTeam = await businessRole(billing);
    const ticketsTeam = await businessRole(tickets);
    const prefix = uniqueName("filter");
    const member = async (index: number, businessRoleIds: string[], directOn?: string) => {
      const user = await createUser({
        username: `${prefix}-${index}`,
        email: `${prefix}-${index}@example.test`,
      });
      if (businessRoleIds.length > 0) {
        await ok(server.url, `${USERS}/SetUserBusinessRoles`, { userId: user.id, businessRoleIds }, admin);
      }
      if (directOn !== undefined) {
        await ok(
          server.url,
          `${USERS}/SetServiceGrants`,
          { userId: user.id, grants: [{ serviceId: directOn, role: "editor" }] },
          admin,
        );
      }
      return user.id as string;
    };
    const direct = await member(0, [], billing);
    const inTeam = await member(1, [billingTeam]);
    // A grant on billing both ways: listed once.
    const both = await member(2, [ticketsTeam, billingTeam], billing);
    const outsider = await member(3, [], tickets);
    const disabledInTeam = await member(4, [billingTeam]);
    await ok(
      server.url,
      `${USERS}/UpdateUser`,
      { userId: disabledInTeam, status: "USER_STATUS_DISABLED" },
      admin,
    );
    await member(5, []);

    const list = async (filters: Record<string, unknown>) => {
      const ids: string[] = [];
      let pageToken = "";
      do {
        const page = await ok(
          server.url,
          `${USERS}/ListUsers`,
          { ...filters, pageSize: 2, pageToken },
          admin,
        );
        expect(page.users.length).toBeLessThanOrEqual(2);
        ids.push(...page.users.map((user: any) => user.id));
        pageToken = page.nextPageToken ?? "";
      } while (pageToken !== "");
      return ids;
    };
    expect(await list({ businessRoleId: billingTeam })).toEqual([inTeam, both, disabledInTeam]);
    expect(await list({ businessRoleId: ticketsTeam })).toEqual([both]);
    expect(await list({ serviceId: billing })).toEqual([direct, inTeam, both, disabledInTeam]);
    expect(await list({ serviceId: tickets })).toEqual([both, outsider]);
    // Combined with each other and with the other filters.
    expect(await list({ serviceId: billing, businessRoleId: ticketsTeam })).toEqual([both]);
    expect(await list({ serviceId: tickets, businessRoleId: billingTeam })).toEqual([both]);
    expect(await list({ serviceId: billing, status: "USER_STATUS_DISABLED" })).toEqual([disabledInTeam]);
    expect(await list({ businessRoleId: billingTeam, status: "USER_STATUS_ACTIVE" })).toEqual([inTeam, both]);
    expect(await list({ serviceId: billing, query: `${prefix}-2` })).toEqual([both]);
    expect(await list({ serviceId: billing, role: "admin" })).toEqual([]);
    expect(await list({ serviceId: randomUUID() })).toEqual([]);
    expect(await list({ businessRoleId: randomUUID() })).toEqual([]);

    for (const field of ["businessRoleId", "serviceId"]) {
      const failure = await fails(server.url, `${USERS}/ListUsers`, { [field]: "not-a-uuid" }, admin);
      expect(failure.code).toBe("invalid_argument");
      const violations = failure.details.find((detail) => detail.type === "google.rpc.BadRequest")?.debug
        ?.fieldViolations;
      expect(violations?.map((violation: { field: string }) => violation.field)).toEqual([
        field === "serviceId" ? "service_id" : "business_role_id",
      ]);
    }
  });

  it("disabling a user ends their sessions at once; re-enabling lets them sign in again", async () => {
    const member = await createUser();
    const tokens = await loginTokens(server.url, member.username, member.password);
    await unary(
      clients.users,
      "updateUser",
      { userId: member.id, status: "USER_STATUS_DISABLED" },
      clients.bearer(admin),
    );
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken)).code).toBe("unauthenticated");
    expect((await fails(server.url, `${AUTH}/Refresh`, { refreshToken: tokens.refreshToken })).code).toBe(
      "unauthenticated",
    );
    expect(
      await fails(server.url, `${AUTH}/Login`, { login: member.username, password: member.password }),
    ).toMatchObject({ code: "permission_denied", reason: "account_disabled" });
    await ok(server.url, `${USERS}/UpdateUser`, { userId: member.id, status: "USER_STATUS_ACTIVE" }, admin);
    await loginTokens(server.url, member.username, member.password);
  });

  it("sets a user's password and ends their sessions", async () => {
    const member = await createUser();
    const tokens = await loginTokens(server.url, member.username, member.password);
    expect(
      await fails(server.url, `${USERS}/SetUserPassword`, { userId: member.id, password: "short-1" }, admin),
    ).toMatchObject({ code: "invalid_argument" });
    await ok(
      server.url,
      `${USERS}/SetUserPassword`,
      { userId: member.id, password: "Support-set-pass-9" },
      admin,
    );
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken)).reason).toBe("session_revoked");
    await loginTokens(server.url, member.username, "Support-set-pass-9");
  });

  it("manages RBAC roles; a role change applies on the next call; no escalation; built-ins are kept", async () => {
    const role = (
      await ok(
        server.url,
        `${ROLES}/CreateRole`,
        {
          name: uniqueName("auditor"),
          description: "reads the log",
          permissions: { permissions: ["audit.read"] },
        },
        admin,
      )
    ).role;
    expect(role).toMatchObject({ permissions: ["audit.read"] });
    expect(
      await fails(
        server.url,
        `${ROLES}/CreateRole`,
        { name: role.name, permissions: { permissions: [] } },
        admin,
      ),
    ).toMatchObject({ code: "already_exists" });
    expect(
      await fails(
        server.url,
        `${ROLES}/CreateRole`,
        { name: uniqueName("bad"), permissions: { permissions: ["users.fly"] } },
        admin,
      ),
    ).toMatchObject({ code: "invalid_argument", reason: "unknown_permission" });

    const member = await createUser();
    const token = (await loginTokens(server.url, member.username, member.password)).accessToken;
    expect((await fails(server.url, `${USERS}/ListAuditEvents`, {}, token)).reason).toBe(
      "missing_permission",
    );
    const withRole = await ok(
      server.url,
      `${USERS}/SetUserRoles`,
      { userId: member.id, roles: ["user", role.name] },
      admin,
    );
    expect(withRole.user.roles).toEqual([role.name, "user"].sort());
    await ok(server.url, `${USERS}/ListAuditEvents`, {}, token);
    await ok(server.url, `${ROLES}/UpdateRole`, { roleId: role.id, permissions: { permissions: [] } }, admin);
    expect((await fails(server.url, `${USERS}/ListAuditEvents`, {}, token)).reason).toBe(
      "missing_permission",
    );

    // roles.assign alone does not let one hand out what one does not hold.
    const assigner = (
      await ok(
        server.url,
        `${ROLES}/CreateRole`,
        { name: uniqueName("assigner"), permissions: { permissions: ["roles.assign"] } },
        admin,
      )
    ).role;
    await ok(
      server.url,
      `${USERS}/SetUserRoles`,
      { userId: member.id, roles: ["user", assigner.name] },
      admin,
    );
    expect(
      await fails(
        server.url,
        `${USERS}/SetUserRoles`,
        { userId: member.id, roles: ["user", assigner.name, "admin"] },
        token,
      ),
    ).toMatchObject({ code: "permission_denied", reason: "privilege_escalation" });
    expect(
      await fails(server.url, `${USERS}/SetUserRoles`, { userId: member.id, roles: ["no-such-role"] }, admin),
    ).toMatchObject({ code: "not_found", reason: "role_not_found" });

    const builtIn = (await ok(server.url, `${ROLES}/ListRoles`, {}, admin)).roles;
    const adminRole = builtIn.find((r: any) => r.name === "admin");
    const userRole = builtIn.find((r: any) => r.name === "user");
    expect(adminRole).toMatchObject({ builtIn: true, permissions: expect.arrayContaining(CATALOGUE) });
    expect(await fails(server.url, `${ROLES}/DeleteRole`, { roleId: userRole.id }, admin)).toMatchObject({
      code: "failed_precondition",
      reason: "built_in_role",
    });
    expect(
      await fails(server.url, `${ROLES}/UpdateRole`, { roleId: adminRole.id, name: "root" }, admin),
    ).toMatchObject({
      reason: "built_in_role",
    });
    expect(
      await fails(
        server.url,
        `${ROLES}/UpdateRole`,
        { roleId: adminRole.id, permissions: { permissions: [] } },
        admin,
      ),
    ).toMatchObject({ reason: "built_in_role" });

    await ok(server.url, `${ROLES}/DeleteRole`, { roleId: role.id }, admin);
    await ok(server.url, `${ROLES}/DeleteRole`, { roleId: role.id }, admin);
    expect((await fails(server.url, `${ROLES}/GetRole`, { roleId: role.id }, admin)).code).toBe("not_found");
  });

  it("keeps at least one active administrator", async () => {
    expect(
      await fails(
        server.url,
        `${USERS}/UpdateUser`,
        { userId: adminId, status: "USER_STATUS_DISABLED" },
        admin,
      ),
    ).toMatchObject({ code: "failed_precondition", reason: "last_admin" });
    expect(
      await fails(server.url, `${USERS}/SetUserRoles`, { userId: adminId, roles: ["user"] }, admin),
    ).toMatchObject({
      reason: "last_admin",
    });
    expect(await fails(server.url, `${USERS}/DeleteUser`, { userId: adminId }, admin)).toMatchObject({
      reason: "last_admin",
    });
  });

  it("manages business roles whose grants name services and their roles, and assigns them", async () => {
    const billing = await service();
    const tickets = await service(["reader", "agent"]);
    expect(
      await fails(
        server.url,
        `${ROLES}/CreateBusinessRole`,
        { name: uniqueName("bad"), grants: [{ serviceId: billing, role: "agent" }] },
        admin,
      ),
    ).toMatchObject({ code: "invalid_argument", reason: "unknown_service_role" });
    expect(
      await fails(
        server.url,
        `${ROLES}/CreateBusinessRole`,
        { name: uniqueName("bad"), grants: [{ serviceId: randomUUID(), role: "viewer" }] },
        admin,
      ),
    ).toMatchObject({ code: "not_found", reason: "service_not_found" });

    const name = uniqueName("support agent");
    const created = (
      await unary<any>(
        clients.roles,
        "createBusinessRole",
        {
          name,
          description: "first-line support",
          grants: [
            { serviceId: billing, role: "viewer" },
            { serviceId: tickets, role: "agent" },
          ],
        },
        clients.bearer(admin),
      )
    ).businessRole;
    expect(created.grants).toHaveLength(2);
    expect(
      await fails(server.url, `${ROLES}/CreateBusinessRole`, { name: name.toUpperCase() }, admin),
    ).toMatchObject({ code: "already_exists" });

    const member = await createUser();
    const assigned = await ok(
      server.url,
      `${USERS}/SetUserBusinessRoles`,
      { userId: member.id, businessRoleIds: [created.id] },
      admin,
    );
    expect(assigned.user.businessRoleIds).toEqual([created.id]);
    expect(
      await fails(
        server.url,
        `${USERS}/SetUserBusinessRoles`,
        { userId: member.id, businessRoleIds: [randomUUID()] },
        admin,
      ),
    ).toMatchObject({ code: "not_found", reason: "business_role_not_found" });

    const token = (await loginTokens(server.url, member.username, member.password)).accessToken;
    const grants = (await ok(server.url, `${AUTH}/GetMe`, {}, token)).grants;
    expect(grants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          serviceId: billing,
          role: "viewer",
          source: `business_role:${created.id}`,
        }),
        expect.objectContaining({ serviceId: tickets, role: "agent", source: `business_role:${created.id}` }),
      ]),
    );

    const updated = await ok(
      server.url,
      `${ROLES}/UpdateBusinessRole`,
      { businessRoleId: created.id, grants: { grants: [{ serviceId: billing, role: "owner" }] } },
      admin,
    );
    expect(updated.businessRole.grants).toEqual([{ serviceId: billing, role: "owner" }]);
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, token)).grants).toEqual([
      expect.objectContaining({ serviceId: billing, role: "owner" }),
    ]);

    // Removing the service removes its grants (ON DELETE CASCADE).
    await server.gatehouse.dataSource.query(`DELETE FROM services WHERE id = $1`, [billing]);
    expect(
      (await ok(server.url, `${ROLES}/GetBusinessRole`, { businessRoleId: created.id }, admin)).businessRole
        .grants,
    ).toEqual([]);

    const listed = await ok(server.url, `${ROLES}/ListBusinessRoles`, { pageSize: 1 }, admin);
    expect(listed.businessRoles).toHaveLength(1);
    await ok(server.url, `${ROLES}/DeleteBusinessRole`, { businessRoleId: created.id }, admin);
    await ok(server.url, `${ROLES}/DeleteBusinessRole`, { businessRoleId: created.id }, admin);
    expect(
      (await ok(server.url, `${USERS}/GetUser`, { userId: member.id }, admin)).user.businessRoleIds,
    ).toEqual([]);
  });

  it("answers Keycloak synchronisation with FAILED_PRECONDITION under the built-in provider", async () => {
    for (const method of ["SyncFromKeycloak", "GetSyncStatus"]) {
      expect(await fails(server.url, `${USERS}/${method}`, {}, admin)).toMatchObject({
        code: "failed_precondition",
        reason: "keycloak_not_configured",
      });
    }
    expect(
      await grpcFails(clients.users, "syncToKeycloak", { userId: adminId }, clients.bearer(admin)),
    ).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      reason: "keycloak_not_configured",
    });
  });

  it("audits administration with actor, target, result, address and request id, filterable", async () => {
    const member = await createUser();
    await ok(server.url, `${USERS}/UpdateUser`, { userId: member.id, profile: { title: "Lead" } }, admin);
    const events = (await ok(server.url, `${USERS}/ListAuditEvents`, { targetId: member.id }, admin)).events;
    expect(events.map((event: any) => event.action)).toEqual(["users.update", "users.create"]);
    expect(events[0]).toMatchObject({
      result: "success",
      actorId: adminId,
      actorKind: "user",
      targetKind: "user",
      ipAddress: expect.stringContaining("127.0.0.1"),
      requestId: expect.any(String),
    });
    const usersOnly = (
      await ok(server.url, `${USERS}/ListAuditEvents`, { action: "users.", pageSize: 500 }, admin)
    ).events;
    expect(usersOnly.every((event: any) => event.action.startsWith("users."))).toBe(true);
    const since = new Date(Date.now() + 60_000).toISOString();
    expect((await ok(server.url, `${USERS}/ListAuditEvents`, { since }, admin)).events).toEqual([]);
    const firstPage = await ok(server.url, `${USERS}/ListAuditEvents`, { pageSize: 1 }, admin);
    const secondPage = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { pageSize: 1, pageToken: firstPage.nextPageToken },
      admin,
    );
    expect(secondPage.events[0].id).not.toBe(firstPage.events[0].id);
    expect(Date.parse(secondPage.events[0].time)).toBeLessThanOrEqual(Date.parse(firstPage.events[0].time));
  });
});
