import type { TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { expect } from "vitest";

/**
 * From the app's sign-in screen through Gatehouse's hosted sign-in page (and its TOTP step, a code
 * of the next period so that one used a moment ago is not replayed), under the built-in provider.
 */
export async function signInOnHostedPage(
  page: Page,
  origin: string,
  login: string,
  password: string,
  totp?: TOTP,
): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("Username or email").waitFor();
  expect(new URL(page.url()).origin).toBe(origin);
  await page.getByLabel("Username or email").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  if (totp !== undefined) {
    await page.getByLabel("Code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole("button", { name: "Verify" }).click();
  }
}
