import { timingSafeEqual } from "node:crypto";
import type { HttpRequest, HttpResponse } from "../http-handler.ts";
import { appendSetCookie, cookieHeader, readCookies } from "../pages/cookies.ts";

/**
 * The browser's single sign-on cookie: the Gatehouse session id and a MAC of
 * it (the key is derived from KEY_ENCRYPTION_KEY, the same on every replica),
 * HttpOnly, SameSite=Lax, Secure (and __Host-) when the issuer is https. It
 * proves nothing by itself: every use checks the session in the database, so
 * a session ended through any door (Logout, end-session, an admin, a
 * password reset) signs nobody in, on any replica.
 */
export class SsoCookie {
  readonly name: string;
  private readonly secure: boolean;
  private readonly mac: (value: string) => string;

  constructor(options: { readonly secure: boolean; readonly mac: (value: string) => string }) {
    this.secure = options.secure;
    this.mac = options.mac;
    this.name = options.secure ? "__Host-gatehouse_sso" : "gatehouse_sso";
  }

  set(response: HttpResponse, sessionId: string, maxAgeSeconds: number): void {
    const value = `${sessionId}.${this.mac(`sso:${sessionId}`)}`;
    appendSetCookie(response, cookieHeader(this.name, value, { secure: this.secure, maxAgeSeconds }));
  }

  clear(response: HttpResponse): void {
    appendSetCookie(response, cookieHeader(this.name, "", { secure: this.secure, maxAgeSeconds: 0 }));
  }

  /** The session id the cookie names, if its MAC is right; whether the session is live is the caller's check. */
  sessionId(request: HttpRequest): string | undefined {
    const value = readCookies(request).get(this.name);
    if (value === undefined) return undefined;
    const dot = value.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const sessionId = value.slice(0, dot);
    const expected = Buffer.from(this.mac(`sso:${sessionId}`));
    const given = Buffer.from(value.slice(dot + 1));
    return expected.length === given.length && timingSafeEqual(expected, given) ? sessionId : undefined;
  }
}
