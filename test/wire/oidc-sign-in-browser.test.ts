import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import axe from "axe-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, saveScreenshot } from "../../harness/browser.ts";
import { freePort } from "../../harness/free-port.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  AUTH,
  freshTotpCode,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
} from "../support/identity.ts";
import { registerClient } from "../support/oidc-browser.ts";

async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const result = await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })`,
  );
  const { violations, passes } = result as unknown as {
    violations: Array<{ id: string; impact: string | null; help: string }>;
    passes: unknown[];
  };
  expect(passes.length).toBeGreaterThan(10);
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id}: ${violation.help}`);
}

/** Enter submits the focused form; wait for the page it leads to. */
const pressEnterAndWait = (page: Page) =>
  Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("Enter")]);

const focusedName = (page: Page) => page.evaluate("document.activeElement?.getAttribute('name')");

/** The OpenID Provider's hosted sign-in in real Chromium, by keyboard alone, to a relying party's callback. */
describe("OIDC sign-in in Chromium", () => {
  let server: TestGatehouse;
  let browser: Browser;
  let url: string;
  let admin: string;
  const callbacks: string[] = [];
  const relyingParty = createServer((request, response) => {
    callbacks.push(request.url ?? "");
    response.setHeader("content-type", "text/html");
    response.end("<!doctype html><title>Signed in</title><h1>Back at the app</h1>");
  });

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, PORT: String(port), ISSUER: url },
    });
    await new Promise<void>((done) => relyingParty.listen(0, "127.0.0.1", done));
    browser = await launchChromium();
    admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await browser?.close();
    relyingParty.close();
    await server?.stop();
  });

  it("keyboard only: username, password, then the TOTP step, and back to the app with a code that redeems", async () => {
    const redirectUri = `http://127.0.0.1:${(relyingParty.address() as AddressInfo).port}/callback`;
    const { clientId } = await registerClient(url, admin, { redirectUris: { uris: [redirectUri] } });
    const user = await signUpAndLogin(url);
    const enrollment = await ok(url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken);
    const used = new Set<number>();
    await ok(
      url,
      `${AUTH}/ConfirmTotp`,
      { code: freshTotpCode(enrollment.secret, used) },
      user.tokens.accessToken,
    );
    const verifier = randomBytes(32).toString("base64url");
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: "openid profile",
      state: "from-chromium",
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const cspViolations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${url}/oidc/authorize?${query}`);
    expect(await page.title()).toContain("Sign in");
    expect(await seriousViolations(page)).toEqual([]);
    await saveScreenshot(page, "oidc-sign-in.png");
    // The first field has the focus on arrival; Tab walks login → password → the button.
    await page.waitForSelector("input[name=login]:focus");
    expect(await focusedName(page)).toBe("login");
    await page.keyboard.type(user.username);
    await page.keyboard.press("Tab");
    expect(await focusedName(page)).toBe("password");
    await page.keyboard.type("wrong-password");
    await pressEnterAndWait(page);
    // The error is announced and the form keeps the login.
    expect(await page.textContent("[role=alert]")).toContain("The username or password is wrong");
    expect(await seriousViolations(page)).toEqual([]);
    await saveScreenshot(page, "oidc-sign-in-error.png");
    await page.waitForSelector("input[name=login]:focus");
    expect(await focusedName(page)).toBe("login");
    await page.keyboard.press("Tab");
    await page.keyboard.type(user.password);
    await pressEnterAndWait(page);

    expect(await page.title()).toContain("Two-step verification");
    expect(await seriousViolations(page)).toEqual([]);
    await saveScreenshot(page, "oidc-mfa.png");
    // Autofocus lands once the page has loaded: wait for it rather than race it.
    await page.waitForSelector("input[name=code]:focus");
    expect(await focusedName(page)).toBe("code");
    await page.keyboard.type(freshTotpCode(enrollment.secret, used));
    await Promise.all([page.waitForURL(`${redirectUri}**`), page.keyboard.press("Enter")]);

    const callback = new URL(page.url());
    expect(callback.searchParams.get("state")).toBe("from-chromium");
    expect(callback.searchParams.get("iss")).toBe(url);
    expect(cspViolations).toEqual([]);
    const exchanged = await fetch(`${url}/oidc/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: callback.searchParams.get("code")!,
        redirect_uri: redirectUri,
        client_id: clientId,
        code_verifier: verifier,
      }),
    });
    expect(exchanged.status).toBe(200);
    await page.close();
  });

  it("the consent page passes axe and is answered by keyboard", async () => {
    const redirectUri = `http://127.0.0.1:${(relyingParty.address() as AddressInfo).port}/callback`;
    const { clientId } = await registerClient(url, admin, {
      redirectUris: { uris: [redirectUri] },
      firstParty: false,
    });
    const user = await signUpAndLogin(url);
    const query = new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: "openid profile email",
      code_challenge: createHash("sha256").update(randomBytes(32).toString("base64url")).digest("base64url"),
      code_challenge_method: "S256",
    });
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${url}/oidc/authorize?${query}`);
    await page.waitForSelector("input[name=login]:focus");
    await page.keyboard.type(user.username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(user.password);
    await pressEnterAndWait(page);
    expect(await page.title()).toContain("Allow access?");
    expect(await seriousViolations(page)).toEqual([]);
    await saveScreenshot(page, "oidc-consent.png");
    // Tab reaches Allow first.
    for (let i = 0; i < 10 && (await page.evaluate("document.activeElement?.textContent")) !== "Allow"; i++) {
      await page.keyboard.press("Tab");
    }
    await Promise.all([page.waitForURL(`${redirectUri}**`), page.keyboard.press("Enter")]);
    expect(new URL(page.url()).searchParams.get("code")).not.toBeNull();
    await page.close();
  });
});
