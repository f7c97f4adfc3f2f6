import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, saveScreenshot } from "../../harness/browser.ts";
import { freePort } from "../../harness/free-port.ts";
import {
  consoleOrigin,
  expectAccessibleAtBothSizes,
  requireConsoleBuild,
  VIEWPORTS,
  watchPage,
} from "../support/console-browser.ts";
import { createJourneyUser, JOURNEY_PASSWORD } from "../support/console-journeys.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, USERS, uniqueName } from "../support/identity.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { VirtualAuthenticator } from "../support/virtual-authenticator.ts";

/**
 * Passkeys in real Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
 * domain): registered on the account page, then used on Gatehouse's hosted sign-in page as the
 * console's OIDC sign-in reaches it, without a password and as the second step after one. Two
 * replicas share PostgreSQL and Redis behind one origin (a relay the test points at either), so a
 * ceremony the page began on one can be finished by the other.
 */
describe("passkeys in Chromium (built-in provider, two replicas behind one origin)", () => {
  let first: TestGatehouse;
  let second: TestGatehouse;
  let browser: Browser;
  let origin: string;
  let relay: TcpProxy;
  // One admin sign-in for the suite: every Login spends the sign-in budgets the hosted page spends too.
  let admin: string;
  const adminToken = async () => admin;

  /** Points the origin at one replica: the other cannot be reached through it any more. */
  async function routeTo(replica: TestGatehouse): Promise<void> {
    const port = relay.port;
    await relay.stop();
    relay = new TcpProxy({ host: "127.0.0.1", port: replica.port });
    relay.port = port;
    await relay.start();
  }

  beforeAll(async () => {
    requireConsoleBuild();
    const port = await freePort();
    // WebAuthn refuses IP addresses as relying-party ids: the origin is localhost, as the console's is.
    origin = consoleOrigin(port);
    first = await startTestGatehouse({ backend: "postgres", env: { ...IDENTITY_ENV, ISSUER: origin } });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
    relay = new TcpProxy({ host: "127.0.0.1", port: first.port });
    relay.port = port;
    await relay.start();
    admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    await second?.stop();
    await first?.stop();
  });

  async function newPage(): Promise<{
    context: BrowserContext;
    page: Page;
    problems: string[];
    authenticator: VirtualAuthenticator;
  }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, locale: "en-GB" });
    const page = await context.newPage();
    const authenticator = await VirtualAuthenticator.attach(page);
    return { context, page, authenticator, ...watchPage(page) };
  }

  const createUser = async () => createJourneyUser(first.url, await adminToken(), "pk");

  /** The console's redemption of its code: the ID token it receives, decoded. */
  function idTokenClaims(page: Page): Promise<Record<string, unknown>> {
    return page
      .waitForResponse((response) => response.url() === `${origin}/oidc/token` && response.ok())
      .then(async (response) => {
        const { id_token: idToken } = await response.json();
        return JSON.parse(Buffer.from(String(idToken).split(".")[1]!, "base64url").toString("utf8"));
      });
  }

  /** The app's own "Sign in" leads to the hosted page (the authorization request waiting). */
  async function openHostedSignIn(page: Page, path: "/account/" | "/console/"): Promise<void> {
    await page.goto(`${origin}${path}`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByLabel("Username or email").waitFor();
    expect(new URL(page.url()).pathname).toBe("/signin");
  }

  async function signInWithPassword(
    page: Page,
    username: string,
    password = JOURNEY_PASSWORD,
  ): Promise<void> {
    await page.getByLabel("Username or email").fill(username);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
  }

  const passkeysCard = (page: Page) =>
    page.locator(".card", { has: page.getByRole("heading", { name: "Passkeys" }) });

  async function registerOnAccountPage(page: Page, username: string, name: string): Promise<void> {
    await openHostedSignIn(page, "/account/");
    await signInWithPassword(page, username);
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    const card = passkeysCard(page);
    await card.getByText("No passkeys yet").waitFor();
    await card.getByRole("button", { name: "Add a passkey" }).click();
    await card.getByRole("textbox", { name: "Name", exact: true }).fill(name);
    await card.getByRole("button", { name: "Create passkey" }).click();
    await card
      .getByRole("status")
      .filter({ hasText: `Passkey “${name}” added.` })
      .waitFor();
    await card.getByRole("cell", { name, exact: true }).waitFor();
  }

  it("the sign-in page allows our one hashed script and nothing inline; the passkey form needs its CSRF token", async () => {
    const page = await fetch(`${origin}/signin`);
    const html = await page.text();
    const csp = new Map(
      (page.headers.get("content-security-policy") ?? "").split(";").map((part) => {
        const [name, ...values] = part.trim().split(/\s+/);
        return [name!, values.join(" ")];
      }),
    );
    expect(csp.get("script-src")).toBe("'self'");
    expect(csp.get("require-trusted-types-for")).toBe("'script'");
    expect(csp.get("trusted-types")).toBe("'none'");
    expect(csp.get("default-src")).toBe("'none'");
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    expect(scripts).toEqual([
      expect.stringMatching(/^<script src="\/assets\/passkey-[0-9a-f]{16}\.js" defer>$/),
    ]);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const script = await fetch(`${origin}${/src="([^"]+)"/.exec(scripts[0]!)![1]}`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // The options came from a ceremony begun for this page; without the form's token the answer is refused.
    expect(html).toMatch(/data-passkey-options="[^"]*challenge/);
    const forged = await fetch(`${origin}/signin/passkey`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ceremony_id: "x".repeat(32), credential_json: "{}" }),
    });
    expect(forged.status).toBe(403);
    const config = (await (await fetch(`${origin}/console/config.json`)).json()) as { passkeys?: boolean };
    expect(config.passkeys).toBe(true);
  });

  let registered: { id: string; username: string } | undefined;
  let exported: Awaited<ReturnType<VirtualAuthenticator["credentials"]>>[number] | undefined;

  it("registers a passkey on the account page, signs out, and signs in with it without a password", async () => {
    const user = await createUser();
    const { context, page, problems, authenticator } = await newPage();
    await registerOnAccountPage(page, user.username, "Work laptop");
    const card = passkeysCard(page);
    expect(await card.getByRole("row").nth(1).textContent()).toContain("Never");
    await expectAccessibleAtBothSizes(page, "account passkeys");
    // The section alone, at the top of a short window (a small picture for the README).
    await page.setViewportSize({ width: VIEWPORTS.desktop.width, height: 560 });
    await card.evaluate((element: any) => element.scrollIntoView({ block: "start" }));
    await saveScreenshot(page, "account-passkeys.png");
    await page.setViewportSize(VIEWPORTS.desktop);
    // Stored server-side for this user, and held by the authenticator as a discoverable credential.
    const listed = await ok(first.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, await adminToken());
    expect(listed.passkeys.map((passkey: { name: string }) => passkey.name)).toEqual(["Work laptop"]);
    const [credential] = await authenticator.credentials();
    expect(credential?.isResidentCredential).toBe(true);

    await page.getByRole("button", { name: "Sign out this device" }).click();
    await page.getByText("You are signed out.").waitFor();
    // Conditional UI: the login field offers the passkey in its autofill, and the virtual
    // authenticator picks it as a person would: signed in without typing anything.
    const claims = idTokenClaims(page);
    const autofilled = page.waitForRequest(
      (request) => request.url() === `${origin}/signin/passkey` && request.method() === "POST",
    );
    await page.goto(`${origin}/account/`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await autofilled;
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    const amr = (await claims).amr as string[];
    // A passkey alone (hwk: this authenticator keeps it on the device), with the user verified; no password.
    expect(amr).toContain("hwk");
    expect(amr).not.toContain("pwd");
    await passkeysCard(page).getByRole("cell", { name: "Never", exact: true }).waitFor({ state: "detached" });
    expect(problems).toEqual([]);
    registered = user;
    exported = (await authenticator.credentials())[0];
    await context.close();
  });

  it("signs in with the password and the passkey as the second step", async () => {
    const user = registered!;
    const { context, page, problems, authenticator } = await newPage();
    await openHostedSignIn(page, "/account/");
    await page.getByRole("button", { name: "Sign in with a passkey" }).waitFor();
    expect(await page.getByLabel("Username or email").getAttribute("autocomplete")).toBe("username webauthn");
    await expectAccessibleAtBothSizes(page, "sign-in with a passkey");
    await saveScreenshot(page, "signin-passkey.png");
    await signInWithPassword(page, user.username);
    await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
    // Only now does the device hold the passkey (on the sign-in page its autofill would have used it).
    await authenticator.addCredential(exported!);
    // Their only second factor is the passkey: no code is asked for.
    expect(await page.getByLabel("Code").count()).toBe(0);
    await page.waitForSelector("button[data-passkey-start]:focus");
    await expectAccessibleAtBothSizes(page, "MFA with a passkey");
    const claims = idTokenClaims(page);
    await page.getByRole("button", { name: "Use your passkey" }).click();
    await page.getByRole("heading", { name: "My account", level: 1 }).waitFor();
    expect((await claims).amr).toEqual(expect.arrayContaining(["pwd", "hwk", "mfa"]));
    expect(problems).toEqual([]);
    exported = (await authenticator.credentials())[0];
    await context.close();
  });

  it("refuses a cloned credential whose signature counter is behind, and says so on the page", async () => {
    const stale = exported!;
    expect(stale.signCount).toBeGreaterThan(0);
    // The owner signs in once more: the server's counter moves past the copy's.
    const owner = await newPage();
    await owner.authenticator.addCredential(stale);
    await owner.page.goto(`${origin}/signin`);
    await owner.page.getByRole("heading", { name: "You are signed in" }).waitFor();
    exported = (await owner.authenticator.credentials())[0];
    expect(exported!.signCount).toBeGreaterThan(stale.signCount);
    await owner.context.close();

    const thief = await newPage();
    await thief.authenticator.addCredential(stale);
    // The autofill sends the copy's answer; the page comes back refused (and offers no autofill again).
    await thief.page.goto(`${origin}/signin`);
    const refusal = thief.page.getByRole("alert").filter({ hasText: "That passkey was not accepted" });
    await refusal.waitFor();
    // Refused once, the page does not offer the same passkey through the autofill again (a loop).
    expect(await thief.page.locator("form[data-passkey-options]").getAttribute("data-passkey-autofill")).toBe(
      "false",
    );
    expect(await thief.page.title()).toContain("Sign in");
    await expectAccessibleAtBothSizes(thief.page, "refused passkey");
    const audit = await ok(
      first.url,
      `${USERS}/ListAuditEvents`,
      { action: "passkey.sign_in", targetId: registered!.id, result: "failure", pageSize: 20 },
      await adminToken(),
    );
    // The audit log names the reason the page does not tell.
    expect(audit.events.map((event: { reason: string }) => event.reason)).toContain("counter_regressed");
    expect(thief.problems).toEqual([]);
    await thief.context.close();
  });

  it("shows a cancelled or impossible ceremony on the page, with the focus back on the button", async () => {
    // An authenticator holding no passkey for this site: the browser refuses (NotAllowedError).
    const { context, page, problems } = await newPage();
    await page.goto(`${origin}/signin`);
    const button = page.getByRole("button", { name: "Sign in with a passkey" });
    await button.click();
    await page
      .getByRole("alert")
      .filter({ hasText: "The passkey request was cancelled or timed out" })
      .waitFor();
    await page.waitForSelector("button[data-passkey-start]:focus");
    await expectAccessibleAtBothSizes(page, "passkey ceremony error");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("finishes on the second replica a ceremony the first began: the page from one, the form to the other", async () => {
    const { context, page, problems, authenticator } = await newPage();
    await routeTo(first);
    await openHostedSignIn(page, "/console/");
    // The options on the page were begun on the first replica; only the second can be reached now.
    await routeTo(second);
    await authenticator.addCredential(exported!);
    const claims = idTokenClaims(page);
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForURL(`${origin}/console/**`);
    await page.getByRole("navigation", { name: "Primary" }).waitFor();
    expect((await claims).amr).toContain("hwk");
    expect(problems).toEqual([]);
    await context.close();
    await routeTo(first);
  });

  it("renames a passkey, and removing the last second factor asks for the password", async () => {
    const user = await createUser();
    const { context, page, problems } = await newPage();
    await registerOnAccountPage(page, user.username, "Old name");
    const card = passkeysCard(page);
    await card.getByRole("button", { name: "Rename Old name" }).click();
    const rename = page.getByRole("dialog", { name: "Rename passkey" });
    await rename.getByRole("textbox", { name: "Name" }).fill("Desk key");
    await expectAccessibleAtBothSizes(page, "rename a passkey");
    await rename.getByRole("button", { name: "Save name" }).click();
    await card.getByRole("cell", { name: "Desk key", exact: true }).waitFor();

    await card.getByRole("button", { name: "Remove Desk key" }).click();
    const remove = page.getByRole("dialog", { name: "Remove this passkey?" });
    await remove.getByRole("button", { name: "Remove passkey" }).click();
    // The server answers that it is the last second factor: the password is asked for.
    const password = remove.getByLabel("Password");
    await password.waitFor();
    await expectAccessibleAtBothSizes(page, "remove the last passkey");
    await password.fill("not-the-password");
    await remove.getByRole("button", { name: "Remove passkey" }).click();
    await expect.poll(() => password.getAttribute("aria-invalid")).toBe("true");
    const stillThere = await ok(
      first.url,
      `${USERS}/ListUserPasskeys`,
      { userId: user.id },
      await adminToken(),
    );
    expect(stillThere.passkeys).toHaveLength(1);
    await password.fill(JOURNEY_PASSWORD);
    await remove.getByRole("button", { name: "Remove passkey" }).click();
    await card.getByRole("status").filter({ hasText: "Passkey removed." }).waitFor();
    await card.getByText("No passkeys yet").waitFor();
    const gone = await ok(first.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, await adminToken());
    expect(gone.passkeys).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("an administrator sees a user's passkeys in the console and removes one; a reader is not offered removal", async () => {
    const user = registered!;
    const readerRole = uniqueName("reader-role");
    await ok(
      first.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: readerRole, permissions: { permissions: ["users.read"] } },
      admin,
    );
    const { username: reader } = await createJourneyUser(first.url, admin, "reader", [readerRole]);
    const userPage = async (login: string, password = JOURNEY_PASSWORD) => {
      const opened = await newPage();
      await openHostedSignIn(opened.page, "/console/");
      await signInWithPassword(opened.page, login, password);
      await opened.page.waitForURL(`${origin}/console/users`);
      // In-app navigation: the tokens live in the page's memory, a reload would drop them.
      await opened.page.evaluate((path) => {
        const w = globalThis as any;
        w.history.pushState(null, "", path);
        w.dispatchEvent(new w.PopStateEvent("popstate"));
      }, `/console/users/${user.id}`);
      await passkeysCard(opened.page).getByRole("cell", { name: "Work laptop", exact: true }).waitFor();
      return opened;
    };

    const asReader = await userPage(reader);
    expect(
      await passkeysCard(asReader.page)
        .getByRole("button", { name: /^Remove/ })
        .count(),
    ).toBe(0);
    expect(asReader.problems).toEqual([]);
    await asReader.context.close();

    const asAdmin = await userPage(TEST_ADMIN.username, TEST_ADMIN.password);
    const card = passkeysCard(asAdmin.page);
    await expectAccessibleAtBothSizes(asAdmin.page, "a user's passkeys");
    await card.getByRole("button", { name: "Remove Work laptop" }).click();
    await asAdmin.page
      .getByRole("dialog", { name: "Remove this passkey?" })
      .getByRole("button", { name: "Remove passkey" })
      .click();
    await card.getByText("No passkeys", { exact: true }).waitFor();
    const listed = await ok(first.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, admin);
    expect(listed.passkeys).toEqual([]);
    expect(asAdmin.problems).toEqual([]);
    await asAdmin.context.close();
  });
});
