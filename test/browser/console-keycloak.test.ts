import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../harness/browser.ts";
import {
  allowWebOrigin,
  consoleOrigin,
  expectAccessibleAtBothSizes,
  requireConsoleBuild,
  saveScreenshot,
  signInOnKeycloak,
  VIEWPORTS,
  watchPage,
} from "../support/console-browser.ts";
import { createGrantAndDisable, JOURNEY_PASSWORD } from "../support/console-journeys.ts";
import { expectPhoneFriendly } from "../support/console-layout.ts";
import { createService } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, type grpc } from "../support/grpc-stubs.ts";
import { holdSyncAt } from "../support/held-sync.ts";
import { AUTH, fails, IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";
import { createTestRealm, ensureKeycloak, type TestRealm } from "../support/keycloak.ts";

const PASSWORD = JOURNEY_PASSWORD;

/**
 * The console in real Chromium against a real Gatehouse (PostgreSQL, Redis) under
 * IDENTITY_PROVIDER=keycloak: the admin signs in on Keycloak's page through the realm's public
 * PKCE client, creates a user with metadata, grants a service (VerifyToken's answer changes),
 * disables the user (their open session is denied by Check), runs Sync from Keycloak and sees its
 * progress and counts, and fixes drift made in Keycloak from the report; the user signs in to the account page and signs out everywhere.
 */
describe("console under Keycloak, in Chromium", () => {
  let realm: TestRealm;
  let gatehouse: TestGatehouse;
  let browser: Browser;
  let origin: string;
  let authz: grpc.Client;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    requireConsoleBuild();
    realm = await createTestRealm(await ensureKeycloak());
    // The event poller is off: the drift test edits Keycloak behind Gatehouse's back.
    gatehouse = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_EVENTS_POLL_MS: "0", KEYCLOAK_SYNC_PAGE_SIZE: "2" },
    });
    origin = consoleOrigin(gatehouse.port);
    await allowWebOrigin(realm, origin);
    authz = authorizationClient(gatehouse.url);
    const admin = await loginTokens(gatehouse.url, TEST_ADMIN.username, TEST_ADMIN.password);
    service = await createService(gatehouse.url, admin.accessToken, {
      roles: { roles: ["viewer", "editor"] },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    authz?.close();
    await gatehouse?.stop();
    await realm?.delete();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: "en-GB" });
    const page = await context.newPage();
    return { context, page, ...watchPage(page) };
  }

  it("serves the app with a strict CSP and cacheable hashed assets", async () => {
    const index = await fetch(`${origin}/console/users`);
    expect(index.status).toBe(200);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const csp = index.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // The app redeems its code at Keycloak's token endpoint: that origin, and no other, is allowed.
    expect(csp).toContain(`connect-src 'self' ${new URL(realm.issuer).origin}`);
    const script = (await index.text()).match(/src="(\/console\/assets\/[^"]+\.js)"/)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // The bare prefix is the app too (the prefix routes of src/server/http-server.ts).
    const bare = await fetch(`${origin}/console`, { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/console/");
    const config = await (await fetch(`${origin}/console/config.json`)).json();
    expect(config).toMatchObject({ provider: "keycloak", issuer: realm.issuer, clientId: "gatehouse-web" });
  });

  it("admin signs in on Keycloak's page, creates a user with metadata, grants a service and disables the user", async () => {
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/console/`);
    await expectAccessibleAtBothSizes(page, "sign-in");
    await saveScreenshot(page, "sign-in");
    await signInOnKeycloak(page, TEST_ADMIN.username, TEST_ADMIN.password);
    await page.waitForURL(`${origin}/console/users`);
    await expect.poll(() => page.getByRole("heading", { name: "Users", level: 1 }).isVisible()).toBe(true);
    // Every screen the admin's permissions open is offered.
    const nav = page.getByRole("navigation", { name: "Primary" });
    for (const item of [
      "Users",
      "Roles",
      "Business roles",
      "Services",
      "Service accounts",
      "Keycloak sync",
      "Audit log",
      "My account",
    ])
      await expect.poll(() => nav.getByRole("link", { name: item, exact: true }).isVisible()).toBe(true);
    // The built-in provider's OIDC clients are not offered: Keycloak's realm holds the clients here.
    expect(await nav.getByRole("link", { name: "OIDC clients" }).count()).toBe(0);
    await page
      .getByRole("cell", { name: new RegExp(TEST_ADMIN.username) })
      .first()
      .waitFor();
    await expectAccessibleAtBothSizes(page, "users");
    await saveScreenshot(page, "users");
    await page.setViewportSize(VIEWPORTS.phone);
    await saveScreenshot(page, "users-phone");
    await page.setViewportSize(VIEWPORTS.desktop);

    const userId = await createGrantAndDisable(page, {
      origin,
      url: gatehouse.url,
      service,
      adminToken,
      authz,
    });
    await page.getByText("Synced with Keycloak").waitFor();
    expect(
      (await ok(gatehouse.url, "gatehouse.v1.UserService/GetUser", { userId }, await adminToken())).user
        .externalId,
    ).not.toBe("");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("Sync from Keycloak shows live progress and the counts; drift made in Keycloak is fixed by one click each", async () => {
    const native = uniqueName("native");
    await realm.createUser({ username: native, email: `${native}@example.test`, password: PASSWORD });
    // Held where it publishes the end of its first page (KEYCLOAK_SYNC_PAGE_SIZE=2, on the real Redis),
    // so that the page's polling sees it mid-run whatever the machine's speed.
    const hold = holdSyncAt(gatehouse.gatehouse.store, 2);
    const { context, page, problems } = await newPage();
    try {
      await page.goto(`${origin}/console/sync`);
      await signInOnKeycloak(page, TEST_ADMIN.username, TEST_ADMIN.password);
      await page.waitForURL(`${origin}/console/sync`);
      await page.getByRole("button", { name: "Sync from Keycloak" }).click();
      await page.getByRole("heading", { name: "Sync in progress" }).waitFor();
      const progress = page.getByRole("progressbar", { name: /^2 of \d+ Keycloak users$/ });
      await progress.waitFor();
      expect(Number(await progress.getAttribute("value"))).toBe(2);
      await page.getByRole("definition").first().waitFor();
    } finally {
      hold.release();
    }
    await page.getByText(/Sync finished at/).waitFor();
    expect(await page.getByRole("heading", { name: "Sync in progress" }).count()).toBe(0);
    expect(Number(await page.getByTestId("sync-created").textContent())).toBeGreaterThanOrEqual(1);
    expect(Number(await page.getByTestId("sync-failed").textContent())).toBe(0);
    const imported = await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/ListUsers",
      { query: native },
      await adminToken(),
    );
    expect(imported.users).toHaveLength(1);

    // Drift behind Gatehouse's back: a user created in Keycloak only, and a field changed there.
    const fresh = uniqueName("kconly");
    await realm.createUser({ username: fresh, email: `${fresh}@example.test`, password: PASSWORD });
    const externalId = imported.users[0].externalId;
    const { access: _access, ...current } = (await realm.admin("GET", `/users/${externalId}`)).body;
    expect(
      (await realm.admin("PUT", `/users/${externalId}`, { ...current, firstName: "Drifted" })).status,
    ).toBe(204);
    // And a user whose Keycloak copy was deleted there: only in Gatehouse.
    const orphan = uniqueName("orphan");
    const { user: orphanUser } = await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/CreateUser",
      { username: orphan, email: `${orphan}@example.test`, password: PASSWORD, profile: { title: "Clerk" } },
      await adminToken(),
    );
    expect((await realm.admin("DELETE", `/users/${orphanUser.externalId}`)).status).toBe(204);
    await page.getByRole("button", { name: "Check drift" }).click();
    const onlyLocal = page.getByRole("row", { name: new RegExp(`${orphan}.*Only in Gatehouse`) });
    await onlyLocal.waitFor();
    const onlyInKeycloak = page.getByRole("row", { name: new RegExp(`${fresh}.*Only in Keycloak`) });
    const differing = page.getByRole("row", { name: new RegExp(`${native}.*first_name`) });
    await onlyInKeycloak.waitFor();
    await differing.waitFor();
    await expectAccessibleAtBothSizes(page, "sync");
    await expectPhoneFriendly(page, "sync");
    await saveScreenshot(page, "sync", page.locator(".card", { hasText: "Drift" }));

    // Only in Keycloak → imported alone (SyncFromKeycloak with its username), after confirming.
    await page.getByRole("button", { name: `Import ${fresh}` }).click();
    await page
      .getByRole("dialog", { name: `Import ${fresh} from Keycloak?` })
      .getByRole("button", { name: "Import from Keycloak" })
      .click();
    await page.getByText(`${fresh}: Keycloak's record imported.`).waitFor();
    await expect.poll(() => onlyInKeycloak.count()).toBe(0);
    const local = await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/ListUsers",
      { query: fresh },
      await adminToken(),
    );
    expect(local.users).toHaveLength(1);

    // A differing field → Gatehouse's record pushed (SyncToKeycloak): Keycloak's first name is Gatehouse's again.
    await page.getByRole("button", { name: `Push to Keycloak: ${native}` }).click();
    await page
      .getByRole("dialog", { name: `Push ${native} to Keycloak?` })
      .getByRole("button", { name: "Push to Keycloak" })
      .click();
    await page.getByText(`${native}: pushed to Keycloak.`).waitFor();
    await expect.poll(() => differing.count()).toBe(0);
    expect((await realm.admin("GET", `/users/${externalId}`)).body.firstName).toBe(
      imported.users[0].firstName ?? "",
    );
    // Only in Gatehouse → pushed (SyncToKeycloak creates and links the Keycloak user).
    await page.getByRole("button", { name: `Push to Keycloak: ${orphan}` }).click();
    await page
      .getByRole("dialog", { name: `Create ${orphan} in Keycloak?` })
      .getByRole("button", { name: "Push to Keycloak" })
      .click();
    await page.getByText(`${orphan}: pushed to Keycloak.`).waitFor();
    await expect.poll(() => onlyLocal.count()).toBe(0);
    const recreated = (await realm.admin("GET", `/users?username=${orphan}&exact=true`)).body;
    expect(recreated).toHaveLength(1);
    expect(recreated[0].attributes.title).toEqual(["Clerk"]);
    // The report read afresh no longer shows any of them.
    const report = await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/GetSyncStatus",
      { includeDrift: true },
      await adminToken(),
    );
    expect(report.onlyInKeycloak ?? []).not.toContain(fresh);
    expect(report.onlyLocal ?? []).not.toContain(orphan);
    expect((report.differing ?? []).map((row: { username: string }) => row.username)).not.toContain(native);

    // The user page says it is linked, and when it was last synced.
    await page.evaluate((path) => {
      const w = globalThis as any;
      w.history.pushState(null, "", path);
      w.dispatchEvent(new w.PopStateEvent("popstate"));
    }, `/console/users/${local.users[0].id}`);
    await page.getByText("Synced with Keycloak").waitFor();
    expect(await page.getByTestId("keycloak-sync-time").textContent()).not.toContain("—");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a user signs in to the account page, sees TOTP enrolment refused with the server's reason, and signs out everywhere", async () => {
    const username = uniqueName("bea");
    const admin = await adminToken();
    await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/CreateUser",
      { username, email: `${username}@example.test`, password: PASSWORD, emailVerified: true },
      admin,
    );
    const other = await loginTokens(gatehouse.url, username, PASSWORD);
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/account/`);
    await signInOnKeycloak(page, username, PASSWORD);
    await page.waitForURL(`${origin}/account/`);
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    // A user without console permissions is offered the account page only.
    const nav = page.getByRole("navigation", { name: "Primary" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["My account"]);
    await page.getByRole("cell", { name: /this device/ }).waitFor();
    await expectAccessibleAtBothSizes(page, "account");
    await saveScreenshot(page, "account");

    // Under Keycloak, TOTP enrolment is Keycloak's: the server's refusal is shown, not swallowed.
    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    // (FAILED_PRECONDITION with the mail sent, or UNAVAILABLE when the realm's SMTP server is down.)
    const refusal = page.locator(".card", { hasText: "Two-factor sign-in" }).getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/failed_precondition|unavailable/);

    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
    await page.waitForURL(`${origin}/account/`);
    await page.getByText("You are signed out.").waitFor();
    // Every session ended, the API client's one included.
    const after = await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: other.accessToken });
    expect(after.code).toBe("unauthenticated");
    // And Keycloak's: signing in again asks for the password.
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#password").waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });

  const adminToken = async () =>
    (await loginTokens(gatehouse.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
});
