import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.ts";

describe("launchChromium", () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const server = createServer((_request, response) => {
    response.setHeader("content-type", "text/html");
    response.end(
      '<!doctype html><title>t</title><button id="b" onclick="this.textContent=\'clicked\'">go</button>',
    );
  });

  beforeAll(async () => {
    browser = await launchChromium();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await browser?.close();
    server.close();
  });

  it("drives Debian's Chromium against a page on loopback", async () => {
    const page = await browser.newPage();
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    expect(await page.textContent("#b")).toBe("clicked");
  });
});
