import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { HttpRequest, HttpResponse } from "../http-handler.ts";
import { appendSetCookie, cookieHeader, readCookies } from "./cookies.ts";
import { type Html, html } from "./html.ts";

/** The hidden field every form carries. */
export const CSRF_FIELD = "csrf_token";

/**
 * The HMAC key behind the tokens, the same on every replica (see
 * src/web/shared-csrf-key.ts: held in the coordination store). `refresh`
 * re-reads it, for a token signed after the key changed.
 */
export interface CsrfKeys {
  current(): Promise<Buffer>;
  refresh(): Promise<Buffer>;
}

/** A fixed key (tests, or one configured secret). */
export const fixedCsrfKeys = (key: Buffer): CsrfKeys => ({
  current: async () => key,
  refresh: async () => key,
});

/** A year: the cookie is only a random binding value, it authorises nothing by itself. */
const COOKIE_MAX_AGE_SECONDS = 365 * 86_400;

/**
 * Signed double-submit CSRF tokens. The browser holds a random value in an
 * HttpOnly cookie; each form carries HMAC(key, value). A cross-site page can
 * make the browser send the cookie but cannot read it or compute its MAC, and
 * a cookie planted from a sibling subdomain is useless without the key. Nothing
 * is stored per form, so any replica verifies what another issued.
 */
export class CsrfGuard {
  private readonly keys: CsrfKeys;
  /** __Host- needs Secure: used when the issuer is https (the cookie then cannot be set by subdomains). */
  readonly cookieName: string;
  private readonly secure: boolean;

  constructor(keys: CsrfKeys, options: { readonly secure: boolean }) {
    this.keys = keys;
    this.secure = options.secure;
    this.cookieName = options.secure ? "__Host-gatehouse_csrf" : "gatehouse_csrf";
  }

  /** The token for a form on this response; sets the binding cookie when the browser has none yet. */
  async issue(request: HttpRequest, response: HttpResponse): Promise<string> {
    let binding = readCookies(request).get(this.cookieName);
    if (binding === undefined || !/^[A-Za-z0-9_-]{43}$/.test(binding)) {
      binding = randomBytes(32).toString("base64url");
      appendSetCookie(
        response,
        cookieHeader(this.cookieName, binding, {
          secure: this.secure,
          maxAgeSeconds: COOKIE_MAX_AGE_SECONDS,
        }),
      );
    }
    return mac(await this.keys.current(), binding);
  }

  /** Whether the submitted form's token matches the request's cookie. Every form POST calls this first. */
  async verify(request: HttpRequest, form: URLSearchParams): Promise<boolean> {
    const binding = readCookies(request).get(this.cookieName);
    const token = form.get(CSRF_FIELD);
    if (binding === undefined || binding === "" || token === null || token === "") return false;
    const key = await this.keys.current();
    if (equal(mac(key, binding), token)) return true;
    // Another replica may have created the shared key after this one cached its own view.
    const fresh = await this.keys.refresh();
    return !fresh.equals(key) && equal(mac(fresh, binding), token);
  }
}

function mac(key: Buffer, binding: string): string {
  return createHmac("sha256", key).update(`gatehouse-csrf:${binding}`).digest("base64url");
}

function equal(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The hidden input carrying the token. */
export const csrfInput = (token: string): Html =>
  html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
