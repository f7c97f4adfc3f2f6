import { describe, expect, it } from "vitest";
import type { Authenticated, Decision } from "../../domain/decision/decision-engine.ts";
import { checkResponseFor, createCheckResponder } from "./check-response.ts";

const names = {
  userIdHeader: "x-user",
  usernameHeader: "x-name",
  roleHeader: "x-role",
  sessionHeader: "x-session",
};

const allowed = {
  outcome: "allowed",
  claims: {
    kind: "user",
    subjectId: "u1",
    sessionId: "s1",
    tokenId: "t1",
    clientId: "c",
    issuedAt: 1,
    expiresAt: 2,
  },
  subject: { kind: "user", id: "u1", name: "alice", active: true, grants: new Map(), user: undefined },
  service: { slug: "orders" },
  role: "editor",
  reason: undefined,
} as unknown as Authenticated;

describe("remembered Check answers", () => {
  it("gives the same answer object for the same decision, equal to a freshly built one", () => {
    const respond = createCheckResponder(names);
    const first = respond(allowed);
    expect(respond({ ...allowed, claims: { ...allowed.claims, tokenId: "another token" } })).toBe(first);
    expect(first).toEqual(checkResponseFor(allowed, names));
  });

  // Every field the answer is built from must tell answers apart.
  const variants: Array<[string, Decision]> = [
    ["subject id", { ...allowed, subject: { ...allowed.subject, id: "u2" } }],
    ["subject name", { ...allowed, subject: { ...allowed.subject, name: "bob" } }],
    ["subject kind", { ...allowed, subject: { ...allowed.subject, kind: "service_account" } }],
    ["session", { ...allowed, claims: { ...allowed.claims, sessionId: "" } }],
    ["service", { ...allowed, service: { ...allowed.service!, slug: "billing" } }],
    ["role", { ...allowed, role: "viewer" }],
    ["outcome and reason", { ...allowed, outcome: "denied", reason: "insufficient_role" }],
    ["another denial", { ...allowed, outcome: "denied", reason: "no_grant" }],
    ["unauthenticated", { outcome: "unauthenticated", reason: "token_expired", message: "expired" }],
    ["another message", { outcome: "unauthenticated", reason: "token_expired", message: "gone" }],
  ];
  it.each(variants)("answers a decision that differs in its %s with its own answer", (_field, variant) => {
    const respond = createCheckResponder(names);
    const base = respond(allowed);
    const other = respond(variant);
    expect(other).not.toBe(base);
    expect(other).toEqual(checkResponseFor(variant, names));
    expect(respond(variant)).toBe(other);
  });

  it("is bounded: answers found by content are evicted (a decision object keeps its own while it lives)", () => {
    const respond = createCheckResponder(names, 2);
    const first = respond(allowed);
    respond({ ...allowed, role: "viewer" });
    respond({ ...allowed, role: "owner" });
    expect(respond({ ...allowed })).not.toBe(first);
    // The remembered decision itself (the engine's memo holds it): its answer without a key.
    expect(respond(allowed)).toBe(first);
  });
});
