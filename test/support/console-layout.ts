import type { Page } from "playwright-core";
import { expect } from "vitest";
import { expectAccessible, VIEWPORTS } from "./console-browser.ts";

/**
 * At a phone's width the screen scrolls only vertically (wide tables scroll inside their own
 * region), and axe finds nothing serious; then back to the desktop size.
 */
export async function expectPhoneFriendly(page: Page, screen: string): Promise<void> {
  await page.setViewportSize(VIEWPORTS.phone);
  const overflow = await page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
  expect(overflow, `${screen} overflows horizontally at 390px`).toBeLessThanOrEqual(0);
  await expectAccessible(page, screen);
  await page.setViewportSize(VIEWPORTS.desktop);
  await expectAccessible(page, screen);
}
