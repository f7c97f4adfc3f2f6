import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { fails, IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";
const USERS = "gatehouse.v1.UserService";
const AUTH = "gatehouse.v1.AuthService";

describe.each(BACKENDS)("services registry, grants and service accounts (%s)", (backend) => {
  let server: TestGatehouse;
  let url: string;
  let admin: string;
  let plain: string;
  let plainUserId: string;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: IDENTITY_ENV });
    url = server.url;
    admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const username = uniqueName("plain");
    const created = await ok(
      url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@gatehouse.test`,
        password: "Plain-user-pass-1!",
        emailVerified: true,
        profile: { firstName: "Plain", lastName: "User" },
      },
      admin,
    );
    plainUserId = created.user.id;
    plain = (await loginTokens(url, username, "Plain-user-pass-1!")).accessToken;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("creates, reads, lists, updates and deletes services", async () => {
    const slug = uniqueName("orders");
    const { service } = await ok(
      url,
      `${REGISTRY}/CreateService`,
      { slug, displayName: "Orders", hosts: { hosts: [`${slug}.internal`] } },
      admin,
    );
    expect(service).toMatchObject({
      slug,
      displayName: "Orders",
      audience: slug,
      status: "SERVICE_STATUS_ACTIVE",
      roles: ["viewer", "editor", "owner"],
      hosts: [`${slug}.internal`],
    });
    expect((await ok(url, `${REGISTRY}/GetService`, { serviceId: service.id }, admin)).service.slug).toBe(
      slug,
    );
    expect((await ok(url, `${REGISTRY}/GetService`, { slug }, admin)).service.id).toBe(service.id);

    const updated = await ok(
      url,
      `${REGISTRY}/UpdateService`,
      {
        serviceId: service.id,
        displayName: "Orders API",
        roles: { roles: ["reader", "viewer", "editor", "owner"] },
      },
      admin,
    );
    expect(updated.service).toMatchObject({
      displayName: "Orders API",
      roles: ["reader", "viewer", "editor", "owner"],
    });

    await ok(url, `${REGISTRY}/DeleteService`, { serviceId: service.id }, admin);
    // Delete is idempotent.
    await ok(url, `${REGISTRY}/DeleteService`, { serviceId: service.id }, admin);
    expect((await fails(url, `${REGISTRY}/GetService`, { serviceId: service.id }, admin)).code).toBe(
      "not_found",
    );
  });

  it("pages through services with keyset page tokens", async () => {
    const prefix = uniqueName("page");
    for (let i = 0; i < 5; i++) {
      await ok(url, `${REGISTRY}/CreateService`, { slug: `${prefix}-${i}`, displayName: `Page ${i}` }, admin);
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await ok(url, `${REGISTRY}/ListServices`, { pageSize: 2, pageToken }, admin);
      expect(page.services.length).toBeLessThanOrEqual(2);
      seen.push(...page.services.map((s: { slug: string }) => s.slug));
      pageToken = page.nextPageToken ?? "";
    } while (pageToken !== "");
    expect(seen.filter((slug) => slug.startsWith(prefix))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`),
    );
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await fails(url, `${REGISTRY}/ListServices`, { pageToken: "not-a-token" }, admin);
    expect(bad).toMatchObject({ code: "invalid_argument", reason: "invalid_page_token" });
  });

  it("rejects clashes, bad input and callers without permission", async () => {
    const slug = uniqueName("dup");
    await ok(url, `${REGISTRY}/CreateService`, { slug, displayName: "One" }, admin);
    expect(await fails(url, `${REGISTRY}/CreateService`, { slug, displayName: "Two" }, admin)).toMatchObject({
      code: "already_exists",
      reason: "service_exists",
    });
    const invalid = await fails(
      url,
      `${REGISTRY}/CreateService`,
      { slug: "Not A Slug", displayName: "" },
      admin,
    );
    expect(invalid.code).toBe("invalid_argument");
    expect(JSON.stringify(invalid.details)).toContain("slug");
    expect(JSON.stringify(invalid.details)).toContain("display_name");
    expect(
      await fails(url, `${REGISTRY}/CreateService`, { slug: uniqueName("x"), displayName: "X" }, plain),
    ).toMatchObject({
      code: "permission_denied",
    });
    expect(await fails(url, `${REGISTRY}/ListServices`, {}, plain)).toMatchObject({
      code: "permission_denied",
    });
    expect(await fails(url, `${REGISTRY}/ListServices`, {})).toMatchObject({ code: "unauthenticated" });
  });

  it("validates grants and refuses to drop a role that is still granted", async () => {
    const { service } = await ok(
      url,
      `${REGISTRY}/CreateService`,
      { slug: uniqueName("grants"), displayName: "G" },
      admin,
    );
    const set = (grants: object[]) => ({ userId: plainUserId, grants });
    expect(
      await fails(
        url,
        `${USERS}/SetServiceGrants`,
        set([{ serviceId: service.id, role: "superuser" }]),
        admin,
      ),
    ).toMatchObject({ code: "invalid_argument", reason: "unknown_role" });
    expect(
      await fails(
        url,
        `${USERS}/SetServiceGrants`,
        set([{ serviceId: randomUUID(), role: "viewer" }]),
        admin,
      ),
    ).toMatchObject({ code: "not_found", reason: "service_not_found" });
    expect(
      await fails(
        url,
        `${USERS}/SetServiceGrants`,
        set([
          { serviceId: service.id, role: "viewer" },
          { serviceId: service.id, role: "owner" },
        ]),
        admin,
      ),
    ).toMatchObject({ code: "invalid_argument", reason: "duplicate_service" });
    expect(
      await fails(url, `${USERS}/SetServiceGrants`, { userId: randomUUID(), grants: [] }, admin),
    ).toMatchObject({ code: "not_found", reason: "user_not_found" });
    expect(await fails(url, `${USERS}/SetServiceGrants`, set([]), plain)).toMatchObject({
      code: "permission_denied",
    });

    const granted = await ok(
      url,
      `${USERS}/SetServiceGrants`,
      set([{ serviceId: service.id, role: "editor" }]),
      admin,
    );
    expect(granted.grants).toEqual([{ serviceId: service.id, role: "editor" }]);
    const listed = await ok(url, `${USERS}/ListServiceGrants`, { userId: plainUserId }, admin);
    expect(listed.directGrants).toEqual([{ serviceId: service.id, role: "editor" }]);
    expect(listed.effectiveGrants).toEqual([
      { serviceId: service.id, serviceSlug: service.slug, role: "editor", source: "direct" },
    ]);
    // GetMe shows the user their own access.
    const me = await ok(url, `${AUTH}/GetMe`, {}, plain);
    expect(me.grants).toEqual([
      { serviceId: service.id, serviceSlug: service.slug, role: "editor", source: "direct" },
    ]);

    expect(
      await fails(
        url,
        `${REGISTRY}/UpdateService`,
        { serviceId: service.id, roles: { roles: ["viewer", "owner"] } },
        admin,
      ),
    ).toMatchObject({ code: "failed_precondition", reason: "role_in_use" });
    // Replacing with nothing frees the role.
    await ok(url, `${USERS}/SetServiceGrants`, set([]), admin);
    await ok(
      url,
      `${REGISTRY}/UpdateService`,
      { serviceId: service.id, roles: { roles: ["viewer", "owner"] } },
      admin,
    );
  });

  it("manages service accounts: secret shown once, rotation, disable", async () => {
    const { service } = await ok(
      url,
      `${REGISTRY}/CreateService`,
      { slug: uniqueName("sa"), displayName: "SA" },
      admin,
    );
    const name = uniqueName("worker");
    const created = await ok(
      url,
      `${REGISTRY}/CreateServiceAccount`,
      { name, description: "nightly jobs", grants: [{ serviceId: service.id, role: "viewer" }] },
      admin,
    );
    expect(created.serviceAccount).toMatchObject({
      name,
      clientId: name,
      grants: [{ serviceId: service.id, role: "viewer" }],
    });
    expect(created.clientSecret).toMatch(/.{32,}/);
    const id = created.serviceAccount.id;
    const fetched = await ok(url, `${REGISTRY}/GetServiceAccount`, { serviceAccountId: id }, admin);
    expect(JSON.stringify(fetched)).not.toContain(created.clientSecret);

    const token = async (secret: string) =>
      (await ok(url, `${AUTH}/ClientCredentialsToken`, { clientId: name, clientSecret: secret })).tokens
        .accessToken;
    const first = await token(created.clientSecret);
    const verified = await ok(url, `${AUTH}/VerifyToken`, { token: first, serviceId: service.id });
    expect(verified).toMatchObject({
      principalKind: "service_account",
      serviceAccess: { granted: true, role: "viewer" },
    });

    const { clientSecret } = await ok(
      url,
      `${REGISTRY}/RotateServiceAccountSecret`,
      { serviceAccountId: id },
      admin,
    );
    expect(
      await fails(url, `${AUTH}/ClientCredentialsToken`, {
        clientId: name,
        clientSecret: created.clientSecret,
      }),
    ).toMatchObject({
      code: "unauthenticated",
    });
    const second = await token(clientSecret);

    const regranted = await ok(
      url,
      `${REGISTRY}/SetServiceAccountGrants`,
      { serviceAccountId: id, grants: [] },
      admin,
    );
    expect(regranted.grants ?? []).toEqual([]);
    // Implicit values are written out: `granted: false` is there for plain-JSON callers.
    const denied = (await ok(url, `${AUTH}/VerifyToken`, { token: second, serviceId: service.id }))
      .serviceAccess;
    expect(denied.granted).toBe(false);
    expect(denied.denialReason).toBe("no_grant");

    await ok(url, `${REGISTRY}/UpdateServiceAccount`, { serviceAccountId: id, disabled: true }, admin);
    expect(await fails(url, `${AUTH}/VerifyToken`, { token: second })).toMatchObject({
      code: "unauthenticated",
    });
    expect(
      await fails(url, `${AUTH}/ClientCredentialsToken`, { clientId: name, clientSecret }),
    ).toMatchObject({
      code: "unauthenticated",
    });
    const listed = await ok(url, `${REGISTRY}/ListServiceAccounts`, { pageSize: 500 }, admin);
    expect(listed.serviceAccounts.map((a: { id: string }) => a.id)).toContain(id);
    await ok(url, `${REGISTRY}/DeleteServiceAccount`, { serviceAccountId: id }, admin);
    await ok(url, `${REGISTRY}/DeleteServiceAccount`, { serviceAccountId: id }, admin);
    expect(await fails(url, `${REGISTRY}/GetServiceAccount`, { serviceAccountId: id }, admin)).toMatchObject({
      code: "not_found",
    });
  });

  it("denies every request to a disabled service at once", async () => {
    const { service } = await ok(
      url,
      `${REGISTRY}/CreateService`,
      { slug: uniqueName("off"), displayName: "Off" },
      admin,
    );
    await ok(
      url,
      `${USERS}/SetServiceGrants`,
      { userId: plainUserId, grants: [{ serviceId: service.id, role: "owner" }] },
      admin,
    );
    const verify = () => ok(url, `${AUTH}/VerifyToken`, { token: plain, serviceId: service.id });
    expect((await verify()).serviceAccess).toMatchObject({ granted: true, role: "owner" });
    await ok(
      url,
      `${REGISTRY}/UpdateService`,
      { serviceId: service.id, status: "SERVICE_STATUS_DISABLED" },
      admin,
    );
    const denied = (await verify()).serviceAccess;
    expect(denied.granted).toBe(false);
    expect(denied).toMatchObject({ serviceStatus: "disabled", denialReason: "service_disabled" });
    await ok(url, `${USERS}/SetServiceGrants`, { userId: plainUserId, grants: [] }, admin);
  });
});
