import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { HttpRequest, HttpResponse } from "../http-handler.ts";
import { CSRF_FIELD, CsrfGuard, type CsrfKeys, fixedCsrfKeys } from "./csrf.ts";

function fakeResponse() {
  const headers = new Map<string, unknown>();
  return {
    headers,
    getHeader: (name: string) => headers.get(name),
    setHeader: (name: string, value: unknown) => headers.set(name, value),
  } as unknown as HttpResponse & { headers: Map<string, unknown> };
}
const requestWith = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as HttpRequest;
const form = (token?: string) => new URLSearchParams(token === undefined ? {} : { [CSRF_FIELD]: token });

/** The binding cookie the guard set ("name=value"). */
function issuedCookie(response: { headers: Map<string, unknown> }): string {
  const set = response.headers.get("set-cookie") as string[];
  return set[0]!.split(";")[0]!;
}

describe("the CSRF guard (signed double submit)", () => {
  const guard = new CsrfGuard(fixedCsrfKeys(randomBytes(32)), { secure: false });

  it("accepts the token it issued with the cookie it set", async () => {
    const response = fakeResponse();
    const token = await guard.issue(requestWith(), response);
    const cookie = issuedCookie(response);
    expect(await guard.verify(requestWith(cookie), form(token))).toBe(true);
  });

  it("sets an HttpOnly SameSite=Lax cookie, Secure with __Host- on https", async () => {
    const plain = fakeResponse();
    await guard.issue(requestWith(), plain);
    expect((plain.headers.get("set-cookie") as string[])[0]).toMatch(
      /^gatehouse_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
    const secure = fakeResponse();
    await new CsrfGuard(fixedCsrfKeys(randomBytes(32)), { secure: true }).issue(requestWith(), secure);
    expect((secure.headers.get("set-cookie") as string[])[0]).toMatch(
      /^__Host-gatehouse_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=\d+$/,
    );
  });

  it("refuses a POST without a token, without the cookie, or with a wrong token", async () => {
    const response = fakeResponse();
    const token = await guard.issue(requestWith(), response);
    const cookie = issuedCookie(response);
    expect(await guard.verify(requestWith(cookie), form())).toBe(false);
    expect(await guard.verify(requestWith(cookie), form(""))).toBe(false);
    expect(await guard.verify(requestWith(), form(token))).toBe(false);
    expect(await guard.verify(requestWith(cookie), form(`${token.slice(0, -2)}AA`))).toBe(false);
  });

  it("refuses a token made for another cookie (an attacker's own session) and one planted with its cookie", async () => {
    const attacker = fakeResponse();
    const attackerToken = await guard.issue(requestWith(), attacker);
    const victim = fakeResponse();
    await guard.issue(requestWith(), victim);
    expect(await guard.verify(requestWith(issuedCookie(victim)), form(attackerToken))).toBe(false);
    // A planted cookie with a self-made token: without the key the MAC cannot be computed.
    const planted = `gatehouse_csrf=${"A".repeat(43)}`;
    expect(await guard.verify(requestWith(planted), form("A".repeat(43)))).toBe(false);
  });

  it("refuses tokens signed with another key", async () => {
    const other = new CsrfGuard(fixedCsrfKeys(randomBytes(32)), { secure: false });
    const response = fakeResponse();
    const token = await other.issue(requestWith(), response);
    expect(await guard.verify(requestWith(issuedCookie(response)), form(token))).toBe(false);
  });

  it("keeps an existing cookie (several tabs share it) and re-reads the shared key before refusing", async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    let shared = oldKey;
    let cached = oldKey;
    const keys: CsrfKeys = {
      current: async () => cached,
      refresh: async () => {
        cached = shared;
        return cached;
      },
    };
    const stale = new CsrfGuard(keys, { secure: false });
    const fresh = new CsrfGuard(fixedCsrfKeys(newKey), { secure: false });
    const first = fakeResponse();
    const token = await fresh.issue(requestWith(), first);
    const cookie = issuedCookie(first);
    const again = fakeResponse();
    await fresh.issue(requestWith(cookie), again);
    expect(again.headers.get("set-cookie")).toBeUndefined();
    shared = newKey;
    expect(await stale.verify(requestWith(cookie), form(token))).toBe(true);
  });
});
