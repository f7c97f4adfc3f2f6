import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConsoleAppOptions, consoleAppRoutes, consoleContentSecurityPolicy } from "./console-app.ts";

const FRONTEND: ConsoleAppOptions["frontend"] = {
  provider: "keycloak",
  issuer: "https://sso.example.com/realms/gatehouse",
  clientId: "gatehouse-web",
  passwordPolicy: { minLength: 10, minCharacterClasses: 1, maxLength: 256 },
  passkeys: true,
};

/** The console's static routes over a real socket, on a build made here (no Vite needed). */
describe("console app routes", () => {
  let root: string;
  let server: http.Server;
  let base: string;
  let builtDir: string;
  let missingDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "console-app-"));
    builtDir = join(root, "dist");
    missingDir = join(root, "not-built");
    await mkdir(join(builtDir, "assets"), { recursive: true });
    await writeFile(join(builtDir, "index.html"), "<!doctype html><title>app</title>");
    await writeFile(join(builtDir, "assets", "index-abc123.js"), "console.log(1)");
    await writeFile(join(root, "secret.txt"), "outside");
    const built = consoleAppRoutes({ distDir: builtDir, frontend: FRONTEND });
    const missing = consoleAppRoutes({ distDir: missingDir, frontend: FRONTEND });
    server = http.createServer((request, response) => {
      const path = request.url!.split("?")[0]!;
      const routes = path.startsWith("/missing") ? missing : built;
      request.url = request.url!.replace(/^\/missing/, "");
      const handler = [...routes].find(([prefix]) => request.url!.startsWith(prefix))?.[1];
      if (handler === undefined) {
        response.statusCode = 404;
        response.end();
      } else handler(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  it("serves index.html for every client route under both prefixes, never from a cache, with the CSP", async () => {
    for (const path of ["/console/", "/console/users/123", "/account/", "/account/callback?code=x"]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain("<title>app</title>");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("content-security-policy")).toBe(consoleContentSecurityPolicy(FRONTEND));
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("serves hashed assets for a year, and nothing outside dist/assets", async () => {
    const asset = await fetch(`${base}/console/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    for (const path of [
      "/console/assets/missing.js",
      "/console/assets/..%2f..%2fsecret.txt",
      "/console/assets/..%2findex.html",
      "/console/assets/%zz",
    ]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).toBe("");
    }
  });

  it("answers the front-end config", async () => {
    const response = await fetch(`${base}/console/config.json`);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual(FRONTEND);
  });

  it("refuses other methods, and says how to build a missing app", async () => {
    const post = await fetch(`${base}/console/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const missing = await fetch(`${base}/missing/console/users`);
    expect(missing.status).toBe(503);
    expect(await missing.text()).toContain("npm run build:web");
  });

  it("allows connections to Keycloak's origin only when Keycloak is the provider", () => {
    expect(consoleContentSecurityPolicy(FRONTEND)).toContain("connect-src 'self' https://sso.example.com;");
    const builtin = consoleContentSecurityPolicy({
      ...FRONTEND,
      provider: "builtin",
      issuer: "https://id.example.com",
    });
    expect(builtin).toContain("connect-src 'self';");
    for (const directive of [
      "script-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ])
      expect(builtin).toContain(directive);
  });
});
