import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../harness/browser.ts";
import {
  expectAccessibleAtBothSizes,
  saveScreenshot,
  VIEWPORTS,
  watchPage,
} from "../support/console-browser.ts";
import { startConsoleGatehouse } from "../support/console-gatehouse.ts";
import { signInOnHostedPage } from "../support/console-hosted-sign-in.ts";
import {
  check,
  createJourneyUser,
  JOURNEY_PASSWORD,
  type JourneyDeps,
  verify,
} from "../support/console-journeys.ts";
import { expectPhoneFriendly } from "../support/console-layout.ts";
import { createService, setGrants } from "../support/fixtures.ts";
import type { TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, grpc } from "../support/grpc-stubs.ts";
import { AUTH, fails, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";

/**
 * The console's administration screens (services, service accounts, business roles, OIDC clients)
 * in real Chromium against a real Gatehouse on PostgreSQL, each action checked by its effect on
 * the server: VerifyToken and Check, ClientCredentialsToken, the OIDC introspection endpoint.
 */
describe("console administration screens, in Chromium", () => {
  let gatehouse: TestGatehouse;
  let browser: Browser;
  let origin: string;
  let authz: grpc.Client;
  let deps: JourneyDeps;
  /** A user with an editor grant on the service, and their open session's access token. */
  let holder: { id: string; username: string; token: string };
  const adminToken = async () =>
    (await loginTokens(gatehouse.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;

  const createUser = async (roles: string[] = []) =>
    createJourneyUser(gatehouse.url, await adminToken(), "adm", roles);

  beforeAll(async () => {
    ({ gatehouse, origin } = await startConsoleGatehouse());
    authz = authorizationClient(gatehouse.url);
    const service = await createService(gatehouse.url, await adminToken(), {
      roles: { roles: ["viewer", "editor"] },
    });
    deps = { origin, url: gatehouse.url, service, adminToken, authz };
    const user = await createUser();
    await setGrants(gatehouse.url, await adminToken(), user.id, [{ serviceId: service.id, role: "editor" }]);
    holder = {
      ...user,
      token: (await loginTokens(gatehouse.url, user.username, JOURNEY_PASSWORD)).accessToken,
    };
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    authz?.close();
    await gatehouse?.stop();
  });

  async function signedIn(login: string, password: string) {
    const context: BrowserContext = await browser.newContext({
      viewport: VIEWPORTS.desktop,
      locale: "en-GB",
    });
    const page = await context.newPage();
    const { problems } = watchPage(page);
    await page.goto(`${origin}/console/`);
    await signInOnHostedPage(page, origin, login, password);
    await page.getByRole("navigation", { name: "Primary" }).waitFor();
    return { context, page, problems };
  }
  /** A fresh load (tokens live in memory only): the app signs in again through the hosted page's session. */
  async function open(page: Page, path: string): Promise<void> {
    await page.goto(`${origin}${path}`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/console\/callback\?/);
    await page.waitForURL(`${origin}${path}`);
    // The signed-in frame (its navigation is behind the menu button on a phone).
    await page
      .getByRole("button", { name: "Sign out", exact: true })
      .waitFor()
      .catch(async (error) => {
        console.log(
          `signing in again for ${path} did not finish at ${page.url()}:`,
          await page.locator("body").textContent(),
        );
        throw error;
      });
  }
  const nav = (page: Page, name: string) =>
    page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name, exact: true }).click();

  it("admin edits a service's roles and disables it: VerifyToken and Check answer accordingly", async () => {
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await nav(page, "Services");
    await page.getByRole("link", { name: deps.service.slug }).click();
    await page.getByRole("heading", { level: 1, name: deps.service.slug }).waitFor();
    // Who holds grants on it: the user with the editor grant, and not the administrator.
    const users = page.getByRole("list", { name: `Users with grants on ${deps.service.slug}` });
    await users.getByRole("link", { name: holder.username }).waitFor();
    expect(await users.getByRole("link", { name: TEST_ADMIN.username }).count()).toBe(0);

    // A role the proto's pattern refuses is caught beside the field before any call.
    const roles = page.getByLabel("Roles", { exact: true });
    await roles.fill("viewer\neditor\nBad Role");
    await page.getByRole("button", { name: "Save service" }).click();
    await page
      .locator(".field-invalid", { has: roles })
      .getByText(/line 3 \(Bad Role\)/)
      .waitFor();
    expect(await roles.getAttribute("aria-invalid")).toBe("true");
    // Removing a role a grant still uses: the server refuses and the console says why.
    await roles.fill("viewer");
    await page.getByRole("button", { name: "Save service" }).click();
    const refusal = page.getByRole("alert").filter({ hasText: "failed_precondition" });
    await refusal.waitFor();
    console.log(`removing a role in use answered: ${await refusal.textContent()}`);
    await roles.fill("viewer\neditor\nowner");
    await page.getByLabel("Description").fill("Billing API");
    await page.getByRole("button", { name: "Save service" }).click();
    await page.getByText("Saved; the next decision uses it.").waitFor();
    const stored = await ok(
      gatehouse.url,
      `${REGISTRY}/GetService`,
      { serviceId: deps.service.id },
      await adminToken(),
    );
    expect(stored.service).toMatchObject({
      roles: ["viewer", "editor", "owner"],
      description: "Billing API",
    });
    expect((await verify(deps, holder.token)).serviceAccess).toMatchObject({ granted: true, role: "editor" });
    expect(await check(deps, holder.token)).toBe(grpc.status.OK);
    await expectAccessibleAtBothSizes(page, "service detail");
    await saveScreenshot(page, "services");

    // Disable, after confirming: every request to it is denied at once.
    await page.getByRole("button", { name: "Disable", exact: true }).click();
    await page
      .getByRole("dialog", { name: `Disable ${deps.service.slug}?` })
      .getByRole("button", { name: "Disable service" })
      .click();
    await page.getByText("Disabled; every request to it is denied.").waitFor();
    expect((await verify(deps, holder.token)).serviceAccess).toMatchObject({
      granted: false,
      serviceStatus: "disabled",
      denialReason: "service_disabled",
    });
    expect(await check(deps, holder.token)).toBe(grpc.status.PERMISSION_DENIED);
    await page.getByRole("button", { name: "Enable", exact: true }).click();
    await page.getByText("Enabled again.").waitFor();
    expect((await verify(deps, holder.token)).serviceAccess).toMatchObject({ granted: true });

    // Register a service here, then delete it from its page after confirming.
    const doomed = uniqueName("svc");
    await nav(page, "Services");
    await page.getByLabel("New service slug").fill(doomed);
    await page.getByRole("button", { name: "Register service" }).click();
    await page.getByRole("link", { name: doomed }).click();
    await page.getByRole("heading", { level: 1, name: doomed }).waitFor();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page
      .getByRole("dialog", { name: `Delete ${doomed}?` })
      .getByRole("button", { name: "Delete service" })
      .click();
    await page.waitForURL(`${origin}/console/services`);
    expect(
      (await fails(gatehouse.url, `${REGISTRY}/GetService`, { slug: doomed }, await adminToken())).code,
    ).toBe("not_found");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("admin creates a service account, grants it, rotates its secret: the new one works, the old one is refused", async () => {
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    await nav(page, "Service accounts");
    const name = uniqueName("robot");
    await page.getByLabel("Name", { exact: true }).fill("Not A Slug");
    await page.getByRole("button", { name: "Create service account" }).click();
    await page.locator(".field-invalid", { has: page.getByLabel("Name", { exact: true }) }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Create service account" }).click();
    const first = (await page.getByTestId("client-secret").textContent())!.trim();
    const clientId = (await page.getByRole("region", { name: "New client secret" }).textContent())!.match(
      /secret of (\S+) now/,
    )![1]!;
    // The copy button puts it on the clipboard.
    await page.getByRole("button", { name: "Copy secret" }).click();
    await page.getByText("Copied to the clipboard.").waitFor();
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(first);
    const tokenWith = (secret: string) =>
      ok(gatehouse.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret: secret });
    await tokenWith(first);
    // Dismissed, it is gone, and no screen shows it again.
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.getByTestId("client-secret").count()).toBe(0);
    await page.getByRole("link", { name: clientId }).click();
    await page.getByRole("heading", { level: 1, name: clientId }).waitFor();
    expect(await page.content()).not.toContain(first);

    // Grant it editor on the service: its token's VerifyToken answer says so.
    await page.getByRole("button", { name: "Add grant" }).click();
    await page.getByLabel("Service 1").selectOption(deps.service.id);
    await page.getByLabel("Role 1").selectOption("editor");
    await page.getByRole("button", { name: "Save grants" }).click();
    await page.getByText("Grants saved").waitFor();
    const before = await tokenWith(first);
    expect((await verify(deps, before.tokens.accessToken)).serviceAccess).toMatchObject({
      granted: true,
      role: "editor",
    });
    await expectAccessibleAtBothSizes(page, "service account");

    // Rotate, after confirming: the new secret is shown once; the old one and its tokens are refused.
    await page.getByRole("button", { name: "Rotate secret" }).click();
    const dialog = page.getByRole("dialog", { name: `Rotate the secret of ${clientId}?` });
    await dialog.getByRole("button", { name: "Rotate secret" }).click();
    // Playwright's wait, not expect.poll's one second: hashing the new secret can take longer on a busy machine.
    const secret = page.getByTestId("client-secret");
    await secret.waitFor();
    const second = (await secret.textContent())!.trim();
    expect(second).not.toBe("");
    expect(second).not.toBe(first);
    await expectAccessibleAtBothSizes(page, "secret shown once");
    await saveScreenshot(page, "service-account-secret");
    expect(
      (await fails(gatehouse.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret: first })).code,
    ).toBe("unauthenticated");
    expect(
      (await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: before.tokens.accessToken })).code,
    ).toBe("unauthenticated");
    const after = await tokenWith(second);
    expect((await verify(deps, after.tokens.accessToken)).serviceAccess).toMatchObject({ granted: true });
    await page.getByRole("button", { name: "I have stored it" }).click();
    await open(page, new URL(page.url()).pathname);
    await page.getByRole("heading", { level: 1, name: clientId }).waitFor();
    expect(await page.content()).not.toContain(second);

    // The service's page lists it among those holding grants on it.
    await nav(page, "Services");
    await page.getByRole("link", { name: deps.service.slug }).click();
    await page
      .getByRole("list", { name: `Service accounts with grants on ${deps.service.slug}` })
      .getByRole("link", { name })
      .waitFor();

    // Delete it after confirming: its secret and its tokens are refused at once.
    await nav(page, "Service accounts");
    await page.getByRole("link", { name: clientId }).click();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete service account" }).click();
    await page.waitForURL(`${origin}/console/service-accounts`);
    expect(
      (await fails(gatehouse.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret: second })).code,
    ).toBe("unauthenticated");
    expect(
      (await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: after.tokens.accessToken })).code,
    ).toBe("unauthenticated");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("admin creates a business role bundling a grant, assigns it to a user, and sees the user listed under it", async () => {
    const member = await createUser();
    const memberToken = (await loginTokens(gatehouse.url, member.username, JOURNEY_PASSWORD)).accessToken;
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await nav(page, "Business roles");
    const roleName = uniqueName("support agent");
    await page.getByRole("button", { name: "New business role" }).click();
    // The name is required (min_len 1): said beside the field, no call made.
    await page.getByRole("button", { name: "Create business role" }).click();
    await page
      .locator(".field-invalid", { has: page.getByLabel("Business role name") })
      .getByText("is required")
      .waitFor();
    await page.getByLabel("Business role name").fill(roleName);
    await page.getByLabel("Description").fill("Reads billing");
    await page.getByRole("button", { name: "Add grant" }).click();
    await page.getByLabel("Service 1").selectOption(deps.service.id);
    await page.getByLabel("Role 1").selectOption("viewer");
    await expectAccessibleAtBothSizes(page, "business role editor");
    await page.getByRole("button", { name: "Create business role" }).click();
    await page.getByRole("cell", { name: new RegExp(`^${roleName}`) }).waitFor();
    const listed = await ok(
      gatehouse.url,
      "gatehouse.v1.RoleService/ListBusinessRoles",
      {},
      await adminToken(),
    );
    const businessRole = listed.businessRoles.find((r: any) => r.name === roleName);
    expect(businessRole.grants).toEqual([{ serviceId: deps.service.id, role: "viewer" }]);
    expect((await verify(deps, memberToken)).serviceAccess).toMatchObject({ granted: false });

    // Assign it on the user's page; the grant it bundles reaches the user's open session.
    await open(page, `/console/users/${member.id}`);
    await page.getByRole("checkbox", { name: roleName }).check();
    await page.getByRole("button", { name: "Save roles" }).click();
    await page.getByText("Roles saved.").waitFor();
    expect((await verify(deps, memberToken)).serviceAccess).toMatchObject({ granted: true, role: "viewer" });

    await nav(page, "Business roles");
    await page.getByRole("button", { name: `Holders of ${roleName}` }).click();
    const holders = page.getByRole("list", { name: `Holders of ${roleName}` });
    await holders.getByRole("link", { name: member.username }).waitFor();
    // Only its holders: the service's direct grantee does not hold it.
    expect(await holders.getByRole("link", { name: holder.username }).count()).toBe(0);
    await expectAccessibleAtBothSizes(page, "business roles");
    await saveScreenshot(page, "business-roles");

    // Delete, after confirming: the member loses the bundled grant.
    await page.getByRole("button", { name: `Delete ${roleName}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete business role" }).click();
    await expect.poll(() => page.getByRole("cell", { name: new RegExp(`^${roleName}`) }).count()).toBe(0);
    expect((await verify(deps, memberToken)).serviceAccess).toMatchObject({ granted: false });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("admin registers an OIDC client and rotates its secret; the console's own client cannot be deleted", async () => {
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await nav(page, "OIDC clients");
    await page.getByRole("cell", { name: /gatehouse-console/ }).waitFor();
    await page.getByRole("button", { name: "Register client" }).click();
    const clientId = uniqueName("billing-web");
    await page.getByLabel("Client id").fill(clientId);
    await page.getByLabel("Name", { exact: true }).fill("Billing web");
    // Plain http off loopback is refused by RedirectUriList's rule: shown beside the field.
    const redirects = page.getByLabel("Redirect URIs", { exact: true });
    await redirects.fill("http://billing.example.test/callback");
    await page.getByRole("button", { name: "Register client" }).click();
    await page
      .locator(".field-invalid", { has: redirects })
      .getByText(/must be https/)
      .waitFor();
    await redirects.fill("https://billing.example.test/callback\nhttp://localhost:3000/callback");
    await page.getByLabel("Post-logout redirect URIs").fill("https://billing.example.test/");
    await page.getByLabel("Back-channel logout URI").fill("https://billing.example.test/backchannel");
    await expectAccessibleAtBothSizes(page, "OIDC client form");
    await page.getByRole("button", { name: "Register client" }).click();
    const first = (await page.getByTestId("client-secret").textContent())!.trim();
    const introspect = (secret: string) =>
      fetch(`${gatehouse.url}/oidc/introspect`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "token=not-a-token",
      });
    expect((await introspect(first)).status).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.getByRole("heading", { level: 1, name: "Billing web" }).waitFor();
    const stored = await ok(gatehouse.url, `${REGISTRY}/GetOidcClient`, { clientId }, await adminToken());
    expect(stored.client).toMatchObject({
      type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
      redirectUris: ["https://billing.example.test/callback", "http://localhost:3000/callback"],
      postLogoutRedirectUris: ["https://billing.example.test/"],
      backchannelLogoutUri: "https://billing.example.test/backchannel",
    });

    // Edit: a redirect URI more, saved and read back.
    await page
      .getByLabel("Redirect URIs", { exact: true })
      .fill("https://billing.example.test/callback\nhttps://billing.example.test/cb2");
    await page.getByRole("button", { name: "Save client" }).click();
    await page.getByText("Saved.", { exact: true }).waitFor();
    const edited = await ok(gatehouse.url, `${REGISTRY}/GetOidcClient`, { clientId }, await adminToken());
    expect(edited.client.redirectUris).toEqual([
      "https://billing.example.test/callback",
      "https://billing.example.test/cb2",
    ]);

    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page
      .getByRole("dialog", { name: `Rotate the secret of ${clientId}?` })
      .getByRole("button", { name: "Rotate secret" })
      .click();
    await page.getByTestId("client-secret").waitFor();
    const second = (await page.getByTestId("client-secret").textContent())!.trim();
    expect(second).not.toBe(first);
    expect((await introspect(first)).status).toBe(401);
    expect((await introspect(second)).status).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();

    await nav(page, "OIDC clients");
    await saveScreenshot(page, "oidc-clients");
    await expectAccessibleAtBothSizes(page, "OIDC clients");
    // The console's own client: the server refuses its deletion (managed_client), so none is offered.
    await page
      .getByRole("cell", { name: /gatehouse-console/ })
      .getByRole("link")
      .click();
    await page.getByText("it cannot be deleted").waitFor();
    expect(await page.getByRole("button", { name: "Delete" }).count()).toBe(0);
    const consoleClient = await ok(
      gatehouse.url,
      `${REGISTRY}/GetOidcClient`,
      { clientId: "gatehouse-console" },
      await adminToken(),
    );
    const refused = await fails(
      gatehouse.url,
      `${REGISTRY}/DeleteOidcClient`,
      { id: consoleClient.client.id },
      await adminToken(),
    );
    expect(refused.code).toBe("failed_precondition");

    // Delete the new client, after confirming.
    await open(page, `/console/oidc-clients/${stored.client.id}`);
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete client" }).click();
    await page.waitForURL(`${origin}/console/oidc-clients`);
    expect(
      (await fails(gatehouse.url, `${REGISTRY}/GetOidcClient`, { clientId }, await adminToken())).code,
    ).toBe("not_found");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("admin sees who holds an RBAC role, a page at a time, and the role editor checks the name first", async () => {
    const roleName = uniqueName("clerk");
    await ok(
      gatehouse.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: roleName, permissions: { permissions: ["audit.read"] } },
      await adminToken(),
    );
    // One more holder than a page holds (HoldersList's 20).
    const clerks = await Promise.all(Array.from({ length: 21 }, () => createUser([roleName])));
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await nav(page, "Roles");
    await page.getByRole("button", { name: "New role" }).click();
    await page.getByLabel("Role name").fill("Not Valid");
    await page.getByRole("button", { name: "Create role" }).click();
    await page
      .locator(".field-invalid", { has: page.getByLabel("Role name") })
      .getByText(/lower-case letter/)
      .waitFor();
    await page.getByRole("button", { name: "Cancel" }).click();

    await page.getByRole("button", { name: `Holders of ${roleName}` }).click();
    const holders = page.getByRole("list", { name: `Holders of ${roleName}` });
    await holders.getByRole("listitem").first().waitFor();
    const firstPage = await holders.getByRole("link").allTextContents();
    expect(firstPage).toHaveLength(20);
    await page
      .getByRole("navigation", { name: `Holders of ${roleName}: pages` })
      .getByRole("button", { name: "Next" })
      .click();
    await expect.poll(() => holders.getByRole("link").count()).toBe(1);
    const secondPage = await holders.getByRole("link").allTextContents();
    // Every clerk once across the two pages, and no one else (not the administrator).
    expect([...firstPage, ...secondPage].sort()).toEqual(clerks.map((c) => c.username).sort());
    await expectAccessibleAtBothSizes(page, "role holders");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a user who may only read sees no write actions on these screens", async () => {
    const reader = uniqueName("reader");
    await ok(
      gatehouse.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: reader, permissions: { permissions: ["roles.read", "services.read", "clients.read"] } },
      await adminToken(),
    );
    const user = await createUser([reader]);
    const { context, page, problems } = await signedIn(user.username, JOURNEY_PASSWORD);
    const links = page.getByRole("navigation", { name: "Primary" }).getByRole("link");
    expect(await links.allTextContents()).toEqual([
      "Roles",
      "Business roles",
      "Services",
      "Service accounts",
      "OIDC clients",
      "My account",
    ]);
    const absent = async (...names: string[]) => {
      for (const name of names)
        expect(await page.getByRole("button", { name, exact: true }).count(), name).toBe(0);
    };
    await nav(page, "Roles");
    await page.getByRole("cell", { name: /^admin/ }).waitFor();
    await absent("New role", "Edit", "Delete", "Holders");
    await nav(page, "Business roles");
    await page.getByRole("heading", { level: 1, name: "Business roles" }).waitFor();
    await absent("New business role");
    await nav(page, "Services");
    await page.getByRole("link", { name: deps.service.slug }).click();
    await page.getByRole("heading", { level: 1, name: deps.service.slug }).waitFor();
    await absent("Save service", "Disable", "Delete");
    // Holders need users.read: said, not failed.
    await page.getByText("Listing who holds it needs the users.read permission.").waitFor();
    await nav(page, "Service accounts");
    await page.getByRole("heading", { level: 1, name: "Service accounts" }).waitFor();
    expect(await page.getByRole("button", { name: "Create service account" }).count()).toBe(0);
    await nav(page, "OIDC clients");
    await page.getByRole("cell", { name: /gatehouse-console/ }).waitFor();
    await absent("Register client");
    await page
      .getByRole("cell", { name: /gatehouse-console/ })
      .getByRole("link")
      .click();
    await page.getByText("managed by Gatehouse").waitFor();
    await absent("Rotate secret", "Disable", "Delete", "Save client");
    await expectAccessibleAtBothSizes(page, "read-only OIDC client");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("the main administration screens have no horizontal overflow at 390×844", async () => {
    const { context, page, problems } = await signedIn(TEST_ADMIN.username, TEST_ADMIN.password);
    const screens = [
      ["/console/roles", "Roles"],
      ["/console/business-roles", "Business roles"],
      ["/console/services", "Services"],
      [`/console/services/${deps.service.id}`, deps.service.slug],
      ["/console/service-accounts", "Service accounts"],
      ["/console/oidc-clients", "OIDC clients"],
      ["/console/oidc-clients/new", "Register an OIDC client"],
    ] as const;
    for (const [path, heading] of screens) {
      // Loaded at the phone's size, so the first layout is the phone's.
      await page.setViewportSize(VIEWPORTS.phone);
      await open(page, path);
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      await expectPhoneFriendly(page, path);
    }
    expect(problems).toEqual([]);
    await context.close();
  });
});
