import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { authorizationClient, type grpc, unary } from "../../support/grpc-stubs.ts";
import { AUTH, IDENTITY_ENV, ok, ROLES, TEST_ADMIN, USERS, uniqueName } from "../../support/identity.ts";
import { createTestRealm, ensureKeycloak, type TestRealm } from "../../support/keycloak.ts";

const PASSWORD = "Correct-horse-battery-9";
/** Upper bound for one propagation in this file; the times are printed, never asserted. */
const BOUND_MS = 30_000;

/**
 * KEYCLOAK_ROLE_MAPPING against a real Keycloak: group `/billing/editors` →
 * business role `billing-editor` (the role `editor` on a service), realm role
 * `ops` → Gatehouse role `kc-auditor`. Two replicas on PostgreSQL and Redis;
 * changes made in Keycloak as the master admin; decisions asked of the replica
 * that did not sign the user in.
 */
describe("Keycloak role mapping", () => {
  let realm: TestRealm;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let authz: grpc.Client;
  let admin: string;
  let service: { id: string; slug: string };
  let editorsGroupId: string;
  let billingGroupId: string;
  let opsRole: { id: string; name: string };

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    const billing = await realm.admin("POST", "/groups", { name: "billing" });
    expect(billing.status).toBe(201);
    billingGroupId = billing.location.split("/").pop()!;
    const editors = await realm.admin("POST", `/groups/${billingGroupId}/children`, {
      name: "editors",
    });
    expect(editors.status).toBe(201);
    editorsGroupId = editors.body?.id ?? editors.location.split("/").pop();
    expect((await realm.admin("POST", "/roles", { name: "ops" })).status).toBe(201);
    opsRole = (await realm.admin("GET", "/roles/ops")).body;

    first = await startTestGatehouse({
      backend: "postgres",
      env: {
        ...IDENTITY_ENV,
        ...realm.env,
        KEYCLOAK_ROLE_MAPPING:
          "group:/billing/editors=business-role:billing-editor,realm-role:ops=role:kc-auditor",
      },
    });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
    admin = (
      await ok(first.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    service = await createService(first.url, admin);
    await ok(
      first.url,
      `${ROLES}/CreateBusinessRole`,
      {
        name: "billing-editor",
        grants: [{ serviceId: service.id, role: "editor" }],
      },
      admin,
    );
    await ok(
      first.url,
      `${ROLES}/CreateRole`,
      { name: "kc-auditor", permissions: { permissions: ["users.read"] } },
      admin,
    );
    authz = authorizationClient(second.url);
  });
  afterAll(async () => {
    authz?.close();
    await second?.stop();
    await first?.stop();
    await realm?.delete();
  });

  /** The service role Check grants the token, or undefined when it denies. */
  const checkedRole = async (token: string): Promise<string | undefined> => {
    const response: any = await unary(authz, "check", {
      attributes: {
        request: {
          http: {
            method: "GET",
            path: "/",
            host: "x",
            headers: { authorization: `Bearer ${token}`, "x-request-id": randomUUID() },
          },
        },
        contextExtensions: { service: service.slug },
      },
    });
    if (response.status.code !== 0) return undefined;
    return response.okResponse.headers.find((option: any) => option.header.key === "x-gatehouse-service-role")
      ?.header.value;
  };

  async function until(done: () => Promise<boolean>, what: string, since = performance.now()) {
    for (;;) {
      if (await done()) return performance.now() - since;
      if (performance.now() - since > BOUND_MS) throw new Error(`${what}: not within ${BOUND_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function signedInUser() {
    const username = uniqueName("rm");
    const { user } = await ok(
      first.url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "R", lastName: "M" },
      },
      admin,
    );
    const { tokens } = await ok(first.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
    return { user: user as { id: string; externalId: string }, token: tokens.accessToken as string };
  }

  it("follows a group membership changed in Keycloak: the Check role within seconds, no Gatehouse sign-in", async () => {
    const { user, token } = await signedInUser();
    expect(await checkedRole(token)).toBeUndefined();

    expect((await realm.admin("PUT", `/users/${user.externalId}/groups/${editorsGroupId}`)).status).toBe(204);
    const joinedMs = await until(async () => (await checkedRole(token)) === "editor", "joined");
    console.info(
      `group /billing/editors joined in Keycloak → Check role "editor" on the other replica after ${joinedMs.toFixed(0)} ms`,
    );

    expect((await realm.admin("DELETE", `/users/${user.externalId}/groups/${editorsGroupId}`)).status).toBe(
      204,
    );
    const leftMs = await until(async () => (await checkedRole(token)) === undefined, "left");
    console.info(
      `group /billing/editors left in Keycloak → Check denied on the other replica after ${leftMs.toFixed(0)} ms`,
    );
  });

  it("follows a realm role granted and taken back in Keycloak: the Gatehouse role", async () => {
    const { user } = await signedInUser();
    const roles = async () =>
      (await ok(second.url, `${USERS}/GetUser`, { userId: user.id }, admin)).user.roles;
    expect(await roles()).not.toContain("kc-auditor");
    const mapping = `/users/${user.externalId}/role-mappings/realm`;
    expect((await realm.admin("POST", mapping, [opsRole])).status).toBe(204);
    const grantedMs = await until(async () => (await roles()).includes("kc-auditor"), "granted");
    expect((await realm.admin("DELETE", mapping, [opsRole])).status).toBe(204);
    const revokedMs = await until(async () => !(await roles()).includes("kc-auditor"), "revoked");
    console.info(
      `realm role ops granted in Keycloak → role kc-auditor after ${grantedMs.toFixed(0)} ms, taken back after ${revokedMs.toFixed(0)} ms`,
    );
  });

  it("applies the mapping at a first sign-in and in a full sync", async () => {
    const signedIn = uniqueName("rm");
    const signedInId = await realm.createUser({
      username: signedIn,
      email: `${signedIn}@example.test`,
      password: PASSWORD,
    });
    expect((await realm.admin("PUT", `/users/${signedInId}/groups/${editorsGroupId}`)).status).toBe(204);
    const { tokens } = await ok(first.url, `${AUTH}/Login`, { login: signedIn, password: PASSWORD });
    expect(await checkedRole(tokens.accessToken)).toBe("editor");

    const synced = uniqueName("rm");
    const syncedId = await realm.createUser({
      username: synced,
      email: `${synced}@example.test`,
      password: PASSWORD,
    });
    expect((await realm.admin("POST", `/users/${syncedId}/role-mappings/realm`, [opsRole])).status).toBe(204);
    await ok(first.url, `${USERS}/SyncFromKeycloak`, {}, admin);
    const listed = await ok(first.url, `${USERS}/ListUsers`, { query: synced }, admin);
    expect(listed.users[0].roles).toContain("kc-auditor");
    const status = await ok(first.url, `${USERS}/GetSyncStatus`, { includeDrift: true }, admin);
    expect(status.driftComputed).toBe(true);
    expect(status.differing ?? []).toEqual([]);
  });

  it("reconciles the members of a group renamed in Keycloak (its path no longer maps)", async () => {
    const { user, token } = await signedInUser();
    expect((await realm.admin("PUT", `/users/${user.externalId}/groups/${editorsGroupId}`)).status).toBe(204);
    await until(async () => (await checkedRole(token)) === "editor", "joined");
    const billing = (await realm.admin("GET", `/groups/${billingGroupId}`)).body;
    expect(
      (await realm.admin("PUT", `/groups/${billingGroupId}`, { ...billing, name: "finance" })).status,
    ).toBe(204);
    const ms = await until(async () => (await checkedRole(token)) === undefined, "renamed");
    console.info(
      `group /billing renamed in Keycloak → its members' mapped role gone after ${ms.toFixed(0)} ms (full reconcile)`,
    );
  });
});
