import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ROOT } from "../../harness/root.ts";
import { type ReferenceServer, startReferenceServer } from "./reference-server.ts";

const PACKAGE_DIR = resolve(ROOT, "bench/oidc-provider");

export interface OidcProviderServer extends ReferenceServer {
  /** An access token it issued (client credentials), active for an hour. */
  readonly token: string;
  /** The Basic authorization of its one client. */
  readonly basicAuth: string;
}

/**
 * panva's oidc-provider (bench/oidc-provider/, its own package.json and
 * node_modules: never a dependency of Gatehouse), installed there with
 * `npm ci` on first use, started as its own process.
 */
export async function startOidcProvider(log: (message: string) => void): Promise<OidcProviderServer> {
  if (!existsSync(resolve(PACKAGE_DIR, "node_modules/oidc-provider/package.json"))) {
    log("installing bench/oidc-provider's own node_modules (npm ci, in that folder only)");
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: PACKAGE_DIR, stdio: "inherit" });
  }
  const server = await startReferenceServer("bench/oidc-provider/introspection-server.js", {}, PACKAGE_DIR);
  const token = /^token (\S+)$/m.exec(server.banner)?.[1];
  const basicAuth = /^basic (.+)$/m.exec(server.banner)?.[1];
  if (token === undefined || basicAuth === undefined) {
    await server.stop();
    throw new Error(`oidc-provider printed no token:\n${server.banner}`);
  }
  return { ...server, token, basicAuth };
}
