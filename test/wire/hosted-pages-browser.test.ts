import axe from "axe-core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, saveScreenshot } from "../../harness/browser.ts";
import { freePort } from "../../harness/free-port.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  startMailCatcher,
  TEST_ADMIN,
  tokenInMail,
  USERS,
  uniqueName,
} from "../support/identity.ts";

const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical findings on the page (WCAG 2.1 A/AA and best practices). */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP (no script at all) does not govern.
  await page.evaluate(axe.source);
  // A string: run in the page, whose globals (document, axe) the test's types do not know.
  const result = await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })`,
  );
  const { violations, passes } = result as unknown as { violations: AxeViolation[]; passes: unknown[] };
  // axe really ran its rules (a page it could not inspect would pass nothing).
  expect(passes.length).toBeGreaterThan(10);
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
}

const focusedId = (page: Page) => page.evaluate("document.activeElement?.id");

describe("hosted pages in Chromium: accessibility, layout, keyboard", () => {
  let server: TestGatehouse;
  let mail: Awaited<ReturnType<typeof startMailCatcher>>;
  let browser: Browser;
  let adminToken: string;
  let verificationLink: string;
  let verifiedLater: { username: string; password: string };

  beforeAll(async () => {
    mail = await startMailCatcher();
    const port = await freePort();
    server = await startTestGatehouse({
      backend: "postgres",
      env: {
        ...IDENTITY_ENV,
        PORT: String(port),
        ISSUER: `http://127.0.0.1:${port}`,
        SMTP_URL: mail.url,
        EMAIL_VERIFICATION_REQUIRED: "true",
      },
    });
    browser = await launchChromium();
    adminToken = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    // A real verification link: a user signed up through the RPC gets one by mail.
    const username = uniqueName("verify");
    await ok(server.url, `${AUTH}/SignUp`, {
      username,
      email: `${username}@example.test`,
      password: "Verify-me-pass-123",
      firstName: "V",
      lastName: "W",
    });
    const message = await mail.waitFor((m) => m.to.includes(`${username}@example.test`));
    verificationLink = `${server.url}/verify-email?token=${tokenInMail(message)}`;
    verifiedLater = { username, password: "Verify-me-pass-123" };
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await mail?.close();
  });

  async function verifiedUser() {
    const username = uniqueName("browser");
    const email = `${username}@example.test`;
    await ok(
      server.url,
      `${USERS}/CreateUser`,
      { username, email, password: "Original-pass-123", emailVerified: true, profile: { firstName: "B" } },
      adminToken,
    );
    return { username, email };
  }

  async function resetLinkFor(email: string): Promise<string> {
    const before = mail.mails.length;
    await ok(server.url, `${AUTH}/ForgotPassword`, { email });
    const message = await mail.waitFor(
      (m, index = mail.mails.indexOf(m)) => index >= before && m.to.includes(email),
    );
    return `${server.url}/reset-password?token=${tokenInMail(message)}`;
  }

  /** A page with its console watched for CSP refusals (the stylesheet must load under the policy). */
  async function open(viewport: (typeof VIEWPORTS)[number]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const refusals: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) refusals.push(message.text());
    });
    return { page, refusals, close: () => context.close() };
  }

  /** Each page: its URL (or how to reach it) and its screenshot's name. */
  const pages: Array<{
    name: string;
    url: () => Promise<string>;
    prepare?: (page: Page) => Promise<void>;
  }> = [
    { name: "signup", url: async () => `${server.url}/signup` },
    {
      name: "signup-errors",
      url: async () => `${server.url}/signup`,
      prepare: async (page) => {
        await page.fill("#field-email", "not-an-email");
        await page.fill("#field-password", "short");
        await page.click("button[type=submit]");
        await page.waitForSelector(".summary");
      },
    },
    { name: "forgot-password", url: async () => `${server.url}/forgot-password` },
    { name: "reset-password", url: async () => resetLinkFor((await verifiedUser()).email) },
    { name: "verify-email", url: async () => verificationLink },
    { name: "verify-email-failed", url: async () => `${server.url}/verify-email?token=${"x".repeat(43)}` },
  ];

  for (const viewport of VIEWPORTS) {
    for (const entry of pages) {
      // The verification link works once: open it at the first viewport, show the result page after.
      it(`${entry.name} at ${viewport.width}×${viewport.height}: no serious or critical axe violation, no sideways scroll`, async () => {
        const { page, refusals, close } = await open(viewport);
        try {
          const url =
            entry.name === "verify-email" && viewport.name === "phone"
              ? `${server.url}/verify-email?token=${"y".repeat(43)}`
              : await entry.url();
          await page.goto(url);
          await entry.prepare?.(page);
          expect(await seriousViolations(page)).toEqual([]);
          // The stylesheet applied under the CSP (the card has its white background and padding).
          expect(
            await page.evaluate(`getComputedStyle(document.querySelector(".card")).backgroundColor`),
          ).toBe("rgb(255, 255, 255)");
          expect(refusals).toEqual([]);
          expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(
            viewport.width,
          );
          if (viewport.name === "desktop" || entry.name === "signup") {
            await saveScreenshot(
              page,
              `hosted-${entry.name}${viewport.name === "phone" ? "-phone" : ""}.png`,
            );
          }
        } finally {
          await close();
        }
      });
    }
  }

  it("the mailed verification link (opened above) verified the email; a second opening says it is used", async () => {
    await loginTokens(server.url, verifiedLater.username, verifiedLater.password);
    const { page, close } = await open(VIEWPORTS[0]);
    try {
      await page.goto(verificationLink);
      expect(await page.textContent("h1")).toBe("Your email address is not confirmed");
      expect(await page.textContent("[role=alert]")).toContain("unknown, used or expired");
    } finally {
      await close();
    }
  });

  it("resets a password with the keyboard only (Tab, typing, Enter), and the new password signs in", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user.email);
    const { page, close } = await open(VIEWPORTS[1]);
    try {
      await page.goto(link);
      // The first field has the focus on arrival (autofocus: no script needed; it lands once the
      // page has loaded, so wait for it rather than race it).
      await page.waitForSelector("#field-new_password:focus");
      expect(await focusedId(page)).toBe("field-new_password");
      await page.keyboard.type("Keyboard-only-pass-42");
      await page.keyboard.press("Tab");
      expect(await focusedId(page)).toBe("field-confirm_password");
      await page.keyboard.type("Keyboard-only-typo-42");
      await page.keyboard.press("Enter");
      await page.waitForSelector(".summary");
      // The error is announced, tied to the field, and the focus is on the field to fix.
      await page.waitForSelector("#field-confirm_password:focus");
      expect(await focusedId(page)).toBe("field-confirm_password");
      expect(await page.getAttribute("#field-confirm_password", "aria-invalid")).toBe("true");
      expect(await page.getAttribute("#field-confirm_password", "aria-describedby")).toBe(
        "field-confirm_password-error",
      );
      expect(await page.textContent("#field-confirm_password-error")).toBe("the two passwords differ");

      // Passwords are never sent back: type both again, starting one field up.
      await page.keyboard.press("Shift+Tab");
      expect(await focusedId(page)).toBe("field-new_password");
      await page.keyboard.type("Keyboard-only-pass-42");
      await page.keyboard.press("Tab");
      await page.keyboard.type("Keyboard-only-pass-42");
      await page.keyboard.press("Tab");
      expect(await page.evaluate("document.activeElement?.textContent")).toBe("Set new password");
      await page.keyboard.press("Enter");
      await page.waitForSelector("text=Your password is set");
      expect(await page.textContent("h1")).toBe("Your password is set");
      await saveScreenshot(page, "hosted-reset-password-done.png");
    } finally {
      await close();
    }
    await loginTokens(server.url, user.username, "Keyboard-only-pass-42");
    expect(
      (await fails(server.url, `${AUTH}/Login`, { login: user.username, password: "Original-pass-123" }))
        .reason,
    ).toBe("invalid_credentials");
  });
});
