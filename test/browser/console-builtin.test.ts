import { Secret, TOTP } from "otpauth";
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
import { signInOnHostedPage as signInOnHosted } from "../support/console-hosted-sign-in.ts";
import { createGrantAndDisable, createJourneyUser, JOURNEY_PASSWORD } from "../support/console-journeys.ts";
import { createService } from "../support/fixtures.ts";
import type { TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, type grpc } from "../support/grpc-stubs.ts";
import { AUTH, fails, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";

/**
 * The console in real Chromium against a real Gatehouse (PostgreSQL, Redis) with the built-in
 * provider: sign-in through Gatehouse's own hosted page as the first-party public client
 * `gatehouse-console` (code + PKCE), the administrator's journey, and a user who enrols TOTP on
 * the account page with a code computed here, then signs out everywhere.
 */
describe("console under the built-in provider, in Chromium", () => {
  let gatehouse: TestGatehouse;
  let browser: Browser;
  let origin: string;
  let authz: grpc.Client;
  let service: { id: string; slug: string };
  const adminToken = async () =>
    (await loginTokens(gatehouse.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;

  beforeAll(async () => {
    ({ gatehouse, origin } = await startConsoleGatehouse());
    authz = authorizationClient(gatehouse.url);
    service = await createService(gatehouse.url, await adminToken(), {
      roles: { roles: ["viewer", "editor"] },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    authz?.close();
    await gatehouse?.stop();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: "en-GB" });
    const page = await context.newPage();
    return { context, page, ...watchPage(page) };
  }

  const signInOnHostedPage = (page: Page, login: string, password: string, totp?: TOTP) =>
    signInOnHosted(page, origin, login, password, totp);

  it("serves the front-end config of the built-in provider, and a CSP without any other origin", async () => {
    const config = await (await fetch(`${origin}/console/config.json`)).json();
    expect(config).toMatchObject({ provider: "builtin", issuer: origin, clientId: "gatehouse-console" });
    const csp = (await fetch(`${origin}/account/`)).headers.get("content-security-policy");
    expect(csp).toContain("connect-src 'self';");
  });

  it("admin signs in on Gatehouse's hosted page, creates a user with metadata, grants a service and disables the user", async () => {
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/console/`);
    await signInOnHostedPage(page, TEST_ADMIN.username, TEST_ADMIN.password);
    await page.waitForURL(`${origin}/console/users`);
    const nav = page.getByRole("navigation", { name: "Primary" });
    await nav.getByRole("link", { name: "Users" }).waitFor();
    // No Keycloak here: its screen is not offered.
    expect(await nav.getByRole("link", { name: "Keycloak sync" }).count()).toBe(0);
    // Tokens are in memory only: nothing in web storage or cookies carries one.
    const stored = await page.evaluate(() => {
      const w = globalThis as any;
      const all = (storage: any) => Object.keys(storage).map((key) => `${key}=${storage.getItem(key)}`);
      return [...all(w.localStorage), ...all(w.sessionStorage), w.document.cookie].join("\n");
    });
    expect(stored).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    await createGrantAndDisable(page, { origin, url: gatehouse.url, service, adminToken, authz });
    await page.getByRole("link", { name: "Roles", exact: true }).click();
    await page.getByRole("heading", { name: "Permission catalogue" }).waitFor();
    await page.getByText("users.read").first().waitFor();
    // Create a role from the catalogue, then delete it after confirming.
    const roleName = `auditor-${Date.now().toString(36)}`;
    await page.getByRole("button", { name: "New role" }).click();
    await page.getByLabel("Role name").fill(roleName);
    await page.getByRole("checkbox", { name: /audit\.read/ }).check();
    await expectAccessibleAtBothSizes(page, "role editor");
    await page.getByRole("button", { name: "Create role" }).click();
    await page.getByRole("cell", { name: new RegExp(`^${roleName}`) }).waitFor();
    const created = await ok(gatehouse.url, "gatehouse.v1.RoleService/ListRoles", {}, await adminToken());
    expect(created.roles.find((r: any) => r.name === roleName)?.permissions).toEqual(["audit.read"]);
    await page.getByRole("button", { name: `Delete ${roleName}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete role" }).click();
    await expect.poll(() => page.getByRole("cell", { name: new RegExp(`^${roleName}`) }).count()).toBe(0);
    await saveScreenshot(page, "roles");
    await expectAccessibleAtBothSizes(page, "roles");
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("cell", { name: "users.create" }).first().waitFor();
    await expectAccessibleAtBothSizes(page, "audit");
    await saveScreenshot(page, "audit");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows the server's permission_denied and its reason, not a silent failure", async () => {
    // A support role may write users, but not those who hold more than it (the administrator).
    const admin = await adminToken();
    await ok(
      gatehouse.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: "support", permissions: { permissions: ["users.read", "users.write"] } },
      admin,
    );
    const { username } = await createJourneyUser(gatehouse.url, admin, "sup", ["support"]);
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/console/`);
    await signInOnHostedPage(page, username, JOURNEY_PASSWORD);
    await page.waitForURL(`${origin}/console/users`);
    // Only what the role allows is offered.
    const nav = page.getByRole("navigation", { name: "Primary" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["Users", "My account"]);
    await page.getByRole("link", { name: TEST_ADMIN.username }).click();
    await page.getByRole("button", { name: "Disable", exact: true }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Disable user" }).click();
    const denied = page.getByRole("alert").filter({ hasText: "permission_denied" });
    await denied.waitFor();
    expect(await denied.textContent()).toContain("target_more_privileged");
    await expectAccessibleAtBothSizes(page, "permission denied");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a user enrols TOTP on the account page with a code computed here, then signs out everywhere", async () => {
    const { username } = await createJourneyUser(gatehouse.url, await adminToken(), "cy");
    const elsewhere = await loginTokens(gatehouse.url, username, JOURNEY_PASSWORD);
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/account/`);
    await signInOnHostedPage(page, username, JOURNEY_PASSWORD);
    await page.waitForURL(`${origin}/account/`);
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    const nav = page.getByRole("navigation", { name: "Primary" });
    expect(await nav.getByRole("link").allTextContents()).toEqual(["My account"]);
    // A console screen opened by URL says what is missing instead of failing.
    await page.evaluate(() => {
      const w = globalThis as any;
      w.history.pushState(null, "", "/console/users");
      w.dispatchEvent(new w.PopStateEvent("popstate"));
    });
    await page.getByText("It needs the users.read permission").waitFor();
    await page.getByRole("link", { name: "My account" }).click();

    await page.getByRole("button", { name: "Set up an authenticator app" }).click();
    const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
    await page.getByRole("img", { name: /QR code/ }).waitFor();
    await expectAccessibleAtBothSizes(page, "TOTP enrolment");
    await saveScreenshot(page, "totp", page.locator(".card", { hasText: "Two-factor sign-in" }));
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 });
    // A wrong code first: the server's answer is shown beside the field.
    await page.getByLabel("Code from the app").fill(totp.generate() === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Turn on" }).click();
    const refusal = page
      .locator(".card", { hasText: "Two-factor sign-in" })
      .locator(".field-error, [role=alert]");
    await refusal.first().waitFor();
    console.log(`wrong TOTP code answered: ${await refusal.first().textContent()}`);
    await page.getByLabel("Code from the app").fill(totp.generate());
    await page.getByRole("button", { name: "Turn on" }).click();
    const codes = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
    await codes.first().waitFor();
    expect(await codes.count()).toBeGreaterThanOrEqual(8);
    await expectAccessibleAtBothSizes(page, "recovery codes");
    await page.getByRole("button", { name: "I have saved them" }).click();
    await page.locator(".card", { hasText: "Two-factor sign-in" }).getByText("On", { exact: true }).waitFor();
    const enrolled = await ok(
      gatehouse.url,
      "gatehouse.v1.UserService/ListUsers",
      { query: username },
      await adminToken(),
    );
    expect(enrolled.users[0].mfaEnabled).toBe(true);

    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByText("You are signed out.").waitFor();
    expect((await fails(gatehouse.url, `${AUTH}/VerifyToken`, { token: elsewhere.accessToken })).code).toBe(
      "unauthenticated",
    );
    // The hosted page's own session ended too: signing in asks for the password, then the new second factor.
    await signInOnHostedPage(page, username, JOURNEY_PASSWORD, totp);
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    expect(problems).toEqual([]);
    await context.close();
  });
});

/** Tokens live in memory and are refreshed before they expire: the app keeps working past the first token's lifetime. */
describe("console token refresh, in Chromium", () => {
  let gatehouse: TestGatehouse;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    // 8 s access tokens: the app refreshes after 5 s (its floor), before they expire.
    ({ gatehouse, origin } = await startConsoleGatehouse({
      backend: "embedded",
      env: { ACCESS_TOKEN_TTL_SECONDS: "8" },
    }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gatehouse?.stop();
  });

  it("refreshes with the refresh token and goes on calling the API after the first access token expired", async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const page = await context.newPage();
    const { problems } = watchPage(page);
    const refreshes: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && /grant_type=refresh_token/.test(request.postData() ?? ""))
        refreshes.push(request.url());
    });
    await page.goto(`${origin}/console/`);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Username or email").fill(TEST_ADMIN.username);
    await page.getByLabel("Password").fill(TEST_ADMIN.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${origin}/console/users`);
    await page
      .getByRole("cell", { name: new RegExp(TEST_ADMIN.username) })
      .first()
      .waitFor();
    // Past the first token's expiry (no assertion on time: only on what the app did meanwhile).
    await page.waitForTimeout(11_000);
    expect(refreshes.length).toBeGreaterThanOrEqual(1);
    // A screen not loaded yet: its calls carry the refreshed token and succeed.
    await page.getByRole("link", { name: "Audit log" }).click();
    await page
      .getByRole("cell", { name: /auth\./ })
      .first()
      .waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
