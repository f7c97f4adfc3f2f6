import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../../harness/browser.ts";
import { saveScreenshot, VIEWPORTS, watchPage } from "../support/console-browser.ts";
import { startConsoleGatehouse } from "../support/console-gatehouse.ts";
import { signInOnHostedPage } from "../support/console-hosted-sign-in.ts";
import { createJourneyUser, JOURNEY_PASSWORD } from "../support/console-journeys.ts";
import { expectPhoneFriendly } from "../support/console-layout.ts";
import type { TestGatehouse } from "../support/gatehouse.ts";
import { AUTH, fails, freshTotpCode, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";
import { enrolTotp } from "../support/totp-enrolment.ts";
import { newVaultKey, VAULT, vaultEnv } from "../support/vault.ts";

const NEW_PASSWORD = "Console-browser-pass-8-new";

/**
 * The account page and user administration in real Chromium against a real Gatehouse on
 * PostgreSQL with the built-in provider: change password, turn MFA off, sign out this device,
 * stored tokens; an administrator resets a user's MFA and filters the audit log.
 */
describe("console: account page and user administration, in Chromium", () => {
  let gatehouse: TestGatehouse;
  let browser: Browser;
  let origin: string;
  let url: string;
  const adminToken = async () =>
    (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;

  beforeAll(async () => {
    ({ gatehouse, origin } = await startConsoleGatehouse({ env: vaultEnv({ k1: newVaultKey() }, "k1") }));
    url = gatehouse.url;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gatehouse?.stop();
  });

  /** A page, what it reports, and the bearer tokens its API calls carry (the console keeps them in memory). */
  async function newPage(): Promise<{
    context: BrowserContext;
    page: Page;
    problems: string[];
    bearer: () => string;
  }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: "en-GB" });
    const page = await context.newPage();
    let bearer = "";
    page.on("request", (request) => {
      const authorization = request.headers().authorization;
      if (request.url().includes("/gatehouse.v1.") && authorization?.startsWith("Bearer "))
        bearer = authorization.slice(7);
    });
    return { context, page, ...watchPage(page), bearer: () => bearer };
  }

  const createUser = async () => createJourneyUser(url, await adminToken(), "acct");

  async function openAccount(page: Page, username: string): Promise<void> {
    await page.goto(`${origin}/account/`);
    await signInOnHostedPage(page, origin, username, JOURNEY_PASSWORD);
    await page.waitForURL(`${origin}/account/`);
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
  }

  it("changes the password on the account page: the old one no longer signs in, the new one does", async () => {
    const user = await createUser();
    const { context, page, problems } = await newPage();
    await openAccount(page, user.username);
    await page.getByLabel("Current password").fill(JOURNEY_PASSWORD);
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed.").waitFor();
    expect(
      await fails(url, `${AUTH}/Login`, { login: user.username, password: JOURNEY_PASSWORD }),
    ).toMatchObject({
      code: "unauthenticated",
    });
    expect((await loginTokens(url, user.username, NEW_PASSWORD)).accessToken).toBeTruthy();
    expect(problems).toEqual([]);
    await context.close();
  });

  it("turns MFA off on the account page with the password and a current code", async () => {
    const user = await createUser();
    const { secret, used } = await enrolTotp(
      url,
      (await loginTokens(url, user.username, JOURNEY_PASSWORD)).accessToken,
    );
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/account/`);
    await signInOnHostedPage(page, origin, user.username, JOURNEY_PASSWORD);
    // The second step, with a step of the code not used yet (the enrolment used one).
    await page.getByLabel("Code").fill(freshTotpCode(secret, used));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    const card = page.locator(".card", { hasText: "Two-factor sign-in" });
    await card.getByText("On", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Turn off two-factor sign-in" }).click();
    const dialog = page.getByRole("dialog", { name: "Turn off two-factor sign-in?" });
    await dialog.getByLabel("Password").fill(JOURNEY_PASSWORD);
    await dialog.getByLabel("Code or recovery code").fill(freshTotpCode(secret, used));
    await dialog.getByRole("button", { name: "Turn off" }).click();
    await page.getByRole("button", { name: "Set up an authenticator app" }).waitFor();
    const after = await ok(url, `${AUTH}/Login`, { login: user.username, password: JOURNEY_PASSWORD });
    expect(after.mfaChallenge).toBeUndefined();
    expect(after.tokens.accessToken).toBeTruthy();
    expect(problems).toEqual([]);
    await context.close();
  });

  it("signs out this device: that session's token is refused, another session of the user still works", async () => {
    const user = await createUser();
    const elsewhere = await loginTokens(url, user.username, JOURNEY_PASSWORD);
    const { context, page, problems, bearer } = await newPage();
    await openAccount(page, user.username);
    await page.getByRole("cell", { name: /this device/ }).waitFor();
    const browserToken = bearer();
    expect((await ok(url, `${AUTH}/VerifyToken`, { token: browserToken })).user.id).toBe(user.id);
    await page.getByRole("button", { name: "Sign out this device" }).click();
    await page.getByText("You are signed out.").waitFor();
    expect((await fails(url, `${AUTH}/VerifyToken`, { token: browserToken })).code).toBe("unauthenticated");
    expect((await ok(url, `${AUTH}/GetMe`, {}, elsewhere.accessToken)).user.id).toBe(user.id);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("lists one's own stored tokens on the account page and revokes one", async () => {
    const user = await createUser();
    const api = await loginTokens(url, user.username, JOURNEY_PASSWORD);
    const purpose = "nightly-report";
    await ok(url, `${VAULT}/RequestOfflineToken`, { purpose, password: JOURNEY_PASSWORD }, api.accessToken);
    const { context, page, problems } = await newPage();
    await openAccount(page, user.username);
    const row = page.getByRole("row", { name: new RegExp(purpose) });
    await row.waitFor();
    expect(await row.textContent()).toContain("offline");
    await expectPhoneFriendly(page, "account");
    await saveScreenshot(page, "account-vault", page.locator(".card", { hasText: "Stored tokens" }));
    await page.getByRole("button", { name: `Revoke ${purpose}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
    await page.getByText("No stored tokens").waitFor();
    expect((await ok(url, `${VAULT}/ListVaultEntries`, {}, api.accessToken)).entries ?? []).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("an administrator resets a user's MFA (the password alone signs in again) and filters the audit log", async () => {
    const user = await createUser();
    const userSession = await loginTokens(url, user.username, JOURNEY_PASSWORD);
    await enrolTotp(url, userSession.accessToken);
    expect(
      (await ok(url, `${AUTH}/Login`, { login: user.username, password: JOURNEY_PASSWORD })).mfaChallenge,
    ).toBeDefined();

    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/console/`);
    await signInOnHostedPage(page, origin, TEST_ADMIN.username, TEST_ADMIN.password);
    await page.waitForURL(`${origin}/console/users`);
    // Search and filters: the user is found by name, and not among the locked.
    await page.getByLabel("Search", { exact: true }).fill(user.username);
    await page.getByRole("button", { name: "Search" }).click();
    await page
      .getByRole("link", { name: "Test User" })
      .or(page.getByRole("link", { name: user.username }))
      .first()
      .waitFor();
    await expectPhoneFriendly(page, "users");
    await page.getByLabel("Status").selectOption({ label: "Locked" });
    await page.getByText(`No users match “${user.username}”`).waitFor();
    await page.getByLabel("Status").selectOption({ label: "Any status" });
    await page.getByRole("link", { name: user.username }).first().click();

    await page.waitForURL(`${origin}/console/users/${user.id}`);
    const mfa = page.locator(".card", { hasText: "Two-factor sign-in" });
    await mfa.getByText("On", { exact: true }).waitFor();
    await expectPhoneFriendly(page, "user detail");
    await page.getByRole("button", { name: "Reset MFA" }).click();
    await page
      .getByRole("dialog", { name: `Reset ${user.username}'s MFA?` })
      .getByRole("button", { name: "Reset MFA" })
      .click();
    await page.getByText("MFA reset; the user's sessions ended.").waitFor();
    await mfa.getByText("Off", { exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Reset MFA" }).count()).toBe(0);
    // The user's session ended; the password alone signs in now.
    expect((await fails(url, `${AUTH}/VerifyToken`, { token: userSession.accessToken })).code).toBe(
      "unauthenticated",
    );
    const again = await ok(url, `${AUTH}/Login`, { login: user.username, password: JOURNEY_PASSWORD });
    expect(again.mfaChallenge).toBeUndefined();
    expect(again.tokens.accessToken).toBeTruthy();
    // A refused sign-in to filter on.
    await fails(url, `${AUTH}/Login`, { login: user.username, password: "Not-the-password-1" });

    // The audit log, filtered by action, subject, actor, outcome and time.
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("heading", { name: "Audit log", level: 1 }).waitFor();
    const rows = page.getByRole("table").getByRole("row");
    await page.getByLabel("Action").fill("users.reset_mfa");
    await page.getByLabel("Subject id").fill(user.id);
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByRole("cell", { name: "users.reset_mfa" }).waitFor();
    const adminId = (await ok(url, `${AUTH}/GetMe`, {}, await adminToken())).user.id;
    await page.getByLabel("Actor id").fill(adminId);
    await expect.poll(() => rows.count()).toBe(2);
    await page.getByLabel("Actor id").fill(user.id);
    await page.getByText("No events").waitFor();
    await page.getByLabel("Actor id").fill("");
    await page.getByLabel("Action").fill("auth.");
    await page.getByLabel("Outcome").selectOption({ label: "Failure" });
    await page.getByRole("cell", { name: "failure" }).first().waitFor();
    expect(await page.getByRole("cell", { name: "success", exact: true }).count()).toBe(0);
    await page.getByLabel("Outcome").selectOption({ label: "Any" });
    await page.getByRole("cell", { name: "success", exact: true }).first().waitFor();
    // From a day ahead: nothing yet.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000)
      .toISOString()
      .slice(0, 16);
    await page.getByLabel("From").fill(local);
    await page.getByText("No events").waitFor();
    await page.getByLabel("From").fill("");
    await page.getByRole("cell", { name: "success", exact: true }).first().waitFor();
    await expectPhoneFriendly(page, "audit");
    expect(problems).toEqual([]);
    await context.close();
  });
});
