import type { HttpRequest } from "../http-handler.ts";

/** The request's cookies by name (the first of duplicates wins, as browsers send the most specific first). */
export function readCookies(request: HttpRequest): Map<string, string> {
  const cookies = new Map<string, string>();
  const header = request.headers.cookie;
  const text = Array.isArray(header) ? header.join("; ") : (header ?? "");
  for (const part of text.split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  readonly secure: boolean;
  readonly maxAgeSeconds?: number;
  readonly sameSite?: "Lax" | "Strict";
}

/** A Set-Cookie value: always HttpOnly and Path=/; values must be cookie-safe (base64url) already. */
export function cookieHeader(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    "Path=/",
    "HttpOnly",
    `SameSite=${options.sameSite ?? "Lax"}`,
    ...(options.secure ? ["Secure"] : []),
    ...(options.maxAgeSeconds === undefined ? [] : [`Max-Age=${options.maxAgeSeconds}`]),
  ].join("; ");
}

/** Adds a Set-Cookie without dropping ones set before. */
export function appendSetCookie(
  response: { getHeader(name: string): unknown; setHeader(name: string, value: string[]): unknown },
  value: string,
): void {
  const existing = response.getHeader("set-cookie");
  const list = Array.isArray(existing)
    ? existing.map(String)
    : existing === undefined
      ? []
      : [String(existing)];
  response.setHeader("set-cookie", [...list, value]);
}
