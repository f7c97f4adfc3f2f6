import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import axe from "axe-core";
import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";
import { ROOT } from "../../harness/root.ts";
import type { TestRealm } from "./keycloak.ts";

/** The viewports every main screen is checked at: a laptop and a phone. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

const SCREENSHOTS = resolve(ROOT, "docs/screenshots");

/** The browser tests load the Vite build Gatehouse serves: npm test makes it (scripts/build-web.sh). */
export function requireConsoleBuild(): void {
  if (!existsSync(resolve(ROOT, "web/dist/index.html"))) {
    throw new Error("web/dist is missing: run scripts/build-web.sh (npm test does)");
  }
}

/**
 * The console's origin as a browser opens it: `localhost`, because the realm's gatehouse-web client
 * registers `http://localhost:*` redirect URIs.
 */
export const consoleOrigin = (port: number) => `http://localhost:${port}`;

/**
 * Lets the realm's public client `gatehouse-web` be called from `origin` (CORS on Keycloak's token
 * endpoint, where the app redeems its code): Keycloak's web origins take no port wildcard, and each
 * test Gatehouse listens on its own port.
 */
export async function allowWebOrigin(realm: TestRealm, origin: string): Promise<void> {
  const [client] = (await realm.admin("GET", "/clients?clientId=gatehouse-web")).body;
  const response = await realm.admin("PUT", `/clients/${client.id}`, {
    ...client,
    webOrigins: [...client.webOrigins, origin],
  });
  if (response.status !== 204) throw new Error(`gatehouse-web web origins: HTTP ${response.status}`);
}

/** Collects what the page reports as Content-Security-Policy violations and uncaught errors. */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text()))
      problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  if (process.env.CONSOLE_DEBUG) page.on("console", (m) => console.log("[page]", m.type(), m.text()));
  return { problems };
}

/** Keycloak's hosted sign-in form (the realm's login theme). */
export async function signInOnKeycloak(page: Page, username: string, password: string): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/realms\/.+\/protocol\/openid-connect\/auth/);
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);
  await page.locator("#kc-login").click();
}

/**
 * axe-core in the page (evaluated through the DevTools protocol, so the page's own CSP, which
 * forbids inline scripts, stays on): no serious or critical violation.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  await page.evaluate(axe.source);
  const violations = (await page.evaluate(async () => {
    const result = await (globalThis as any).axe.run((globalThis as any).document, {
      resultTypes: ["violations"],
    });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n: any) => n.target.join(" ")),
    }));
  })) as Array<{ id: string; impact: string; nodes: string[] }>;
  const blocking = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(blocking, `axe on ${screen} at ${page.viewportSize()?.width}px`).toEqual([]);
}

/**
 * A screenshot for the README (docs/screenshots/console-<name>.png), of the viewport only: from the
 * top of the page, or with `subject` scrolled into view. Taken with SCREENSHOTS=1
 * (`SCREENSHOTS=1 npm test -- test/browser`).
 */
export async function saveScreenshot(page: Page, name: string, subject?: Locator): Promise<void> {
  // Only when asked: every run would otherwise rewrite the committed PNGs (random names, times).
  if (process.env.SCREENSHOTS !== "1") return;
  await mkdir(SCREENSHOTS, { recursive: true });
  if (subject === undefined) await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
  else await subject.evaluate((element: any) => element.scrollIntoView({ block: "start" }));
  await page.screenshot({ path: resolve(SCREENSHOTS, `console-${name}.png`), animations: "disabled" });
}

/** Checks a screen at both viewports (axe at each), then returns to the desktop size. */
export async function expectAccessibleAtBothSizes(page: Page, screen: string): Promise<void> {
  for (const viewport of [VIEWPORTS.phone, VIEWPORTS.desktop]) {
    await page.setViewportSize(viewport);
    await expectAccessible(page, screen);
  }
}
