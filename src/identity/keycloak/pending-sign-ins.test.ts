import { afterEach, describe, expect, it, vi } from "vitest";
import type { KeycloakTokens } from "./keycloak-oidc.ts";
import { PendingSignIns } from "./pending-sign-ins.ts";

const tokens = (refreshToken: string): KeycloakTokens => ({
  accessToken: "a",
  accessTokenExpiresAt: 0,
  refreshToken,
  refreshTokenExpiresAt: undefined,
  sessionId: refreshToken,
  scope: "",
});

describe("PendingSignIns", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("hands each user's checked sign-ins out once, oldest first", () => {
    const pending = new PendingSignIns(() => {});
    pending.holdTokens("u1", tokens("r1"), "k1");
    pending.holdTokens("u1", tokens("r2"), "k1");
    expect(pending.takeTokens("u1")?.tokens.refreshToken).toBe("r1");
    expect(pending.takeTokens("u1")?.tokens.refreshToken).toBe("r2");
    expect(pending.takeTokens("u1")).toBeUndefined();
    pending.holdPassword("u1", "alice", "secret");
    expect(pending.takePassword("u1")).toEqual({ login: "alice", password: "secret" });
    expect(pending.takePassword("u1")).toBeUndefined();
    pending.close();
  });

  it("ends the Keycloak session of tokens nobody took, and forgets passwords", () => {
    vi.useFakeTimers();
    const abandoned: string[] = [];
    const pending = new PendingSignIns((t) => abandoned.push(t.refreshToken));
    pending.holdTokens("u1", tokens("unused"), "k1");
    pending.holdPassword("u2", "bob", "secret");
    vi.advanceTimersByTime(120_000);
    expect(abandoned).toEqual(["unused"]);
    expect(pending.takeTokens("u1")).toBeUndefined();
    expect(pending.takePassword("u2")).toBeUndefined();
    pending.holdTokens("u3", tokens("at-close"), "k3");
    pending.close();
    expect(abandoned).toEqual(["unused", "at-close"]);
  });
});
