import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { getOrHeadOnly, type HttpHandler } from "./http-handler.ts";

/** Where the browser app lives; the built index.html is served for every other path under them. */
export const CONSOLE_PREFIX = "/console/";
export const ACCOUNT_PREFIX = "/account/";
/** The one document the browser app reads before signing in (see FrontendConfig). */
export const FRONTEND_CONFIG_PATH = "/console/config.json";
/** Vite's hashed output (web/vite.config.ts: base "/console/", assetsDir "assets"). */
const ASSETS_PREFIX = "/console/assets/";

/** What the browser app needs to sign in: which provider runs, its issuer and the app's client id. */
export interface FrontendConfig {
  readonly provider: "builtin" | "keycloak";
  readonly issuer: string;
  readonly clientId: string;
  /** Gatehouse's password policy (PASSWORD_MIN_LENGTH, PASSWORD_MIN_CHARACTER_CLASSES), shown before submit. */
  readonly passwordPolicy: {
    readonly minLength: number;
    readonly minCharacterClasses: number;
    readonly maxLength: number;
  };
  /** Passkeys are served (PASSKEYS_ENABLED, built-in provider): the account page and the console offer them. */
  readonly passkeys: boolean;
}

export interface ConsoleAppOptions {
  /** The Vite build (web/dist); a missing build answers 503 with how to make one. */
  readonly distDir: string;
  readonly frontend: FrontendConfig;
}

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".map": "application/json",
};

/**
 * The strict policy of the app's pages: only our own scripts and styles, API calls to this origin
 * (and to Keycloak's token endpoint when it is the provider: the app redeems its code there), the
 * TOTP QR code as a data: image, no framing, no plugins, no <base> tricks.
 */
export function consoleContentSecurityPolicy(frontend: FrontendConfig): string {
  const connect = ["'self'"];
  if (frontend.provider === "keycloak") connect.push(new URL(frontend.issuer).origin);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect.join(" ")}`,
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Serves the console and account app: hashed assets for a year (their names change with their
 * content), index.html never from a cache (so a deploy takes effect on the next load), the
 * front-end config, and the same index.html for every client-side route under both prefixes.
 */
export function consoleAppRoutes(options: ConsoleAppOptions): Map<string, HttpHandler> {
  const csp = consoleContentSecurityPolicy(options.frontend);
  const configBody = JSON.stringify(options.frontend);
  const indexPath = join(options.distDir, "index.html");
  // Read once per change of the file, not per request.
  let index: { mtimeMs: number; body: Buffer } | undefined;
  const readIndex = (): Buffer | undefined => {
    if (!existsSync(indexPath)) return undefined;
    const mtimeMs = statSync(indexPath).mtimeMs;
    if (index?.mtimeMs !== mtimeMs) index = { mtimeMs, body: readFileSync(indexPath) };
    return index.body;
  };

  const handler = getOrHeadOnly((request, response) => {
    const path = (request.url ?? "/").split("?")[0]!;
    response.setHeader("x-content-type-options", "nosniff");
    response.setHeader("referrer-policy", "no-referrer");
    if (path === FRONTEND_CONFIG_PATH) {
      response.statusCode = 200;
      response.setHeader("content-type", "application/json");
      response.setHeader("cache-control", "no-cache");
      if (request.method === "HEAD") response.end();
      else response.end(configBody);
      return;
    }
    if (path.startsWith(ASSETS_PREFIX)) {
      const file = assetFile(options.distDir, path);
      if (file === undefined) {
        response.statusCode = 404;
        response.setHeader("cache-control", "no-store");
        response.end();
        return;
      }
      response.statusCode = 200;
      response.setHeader("content-type", CONTENT_TYPES[extname(file)] ?? "application/octet-stream");
      response.setHeader("cache-control", "public, max-age=31536000, immutable");
      if (request.method === "HEAD") response.end();
      else createReadStream(file).pipe(response as NodeJS.WritableStream);
      return;
    }
    const body = readIndex();
    response.setHeader("cache-control", "no-cache");
    if (body === undefined) {
      response.statusCode = 503;
      response.setHeader("content-type", "text/plain; charset=utf-8");
      response.end("The console is not built: run `npm run build:web` (npm start does it).\n");
      return;
    }
    response.statusCode = 200;
    response.setHeader("content-type", "text/html; charset=utf-8");
    response.setHeader("content-security-policy", csp);
    if (request.method === "HEAD") response.end();
    else response.end(body);
  });
  return new Map([
    [CONSOLE_PREFIX, handler],
    [ACCOUNT_PREFIX, handler],
  ]);
}

/** The file under dist/assets a request names, or undefined (missing, a directory, or outside it). */
function assetFile(distDir: string, path: string): string | undefined {
  let relative: string;
  try {
    relative = decodeURIComponent(path.slice("/console/".length));
  } catch {
    return undefined;
  }
  const assets = join(distDir, "assets");
  const file = normalize(join(distDir, relative));
  if (!file.startsWith(assets + sep)) return undefined;
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}
