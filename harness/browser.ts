import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "./root.ts";

/** Debian's Chromium, installed by scripts/install-chromium.sh (npm test runs it). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * The flags this machine's closed network needs: without the background-networking ones Chromium
 * keeps dialling Google's hosts and its refused connections slow every page.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh headless Chromium (own empty profile); close it in afterAll. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: run scripts/install-chromium.sh`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Rewrites a README screenshot, docs/screenshots/NAME, only with SCREENSHOTS=1
 * (`SCREENSHOTS=1 npm test -- test/wire test/browser`): a plain test run leaves the tree as it found it.
 */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== "1") return;
  await page.screenshot({ path: resolve(ROOT, "docs/screenshots", name) });
}
