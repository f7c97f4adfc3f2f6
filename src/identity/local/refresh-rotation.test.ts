import { beforeEach, describe, expect, it } from "vitest";
import { MemorySessionStore } from "../../../test/support/fakes/memory-session-store.ts";
import { hashOpaqueToken, newOpaqueToken } from "../../domain/opaque-token.ts";
import {
  type Presenter,
  RefreshRotation,
  type RefreshRotationSettings,
  refreshTokenExpiry,
} from "./refresh-rotation.ts";
import { Sealer } from "./sealer.ts";

const SECOND = 1000;
const DAY = 86_400 * SECOND;
const SETTINGS: RefreshRotationSettings = {
  refreshTokenTtlMs: 7 * DAY,
  offlineTokenTtlMs: 30 * DAY,
  sessionMaxLifetimeMs: 20 * DAY,
  graceMs: 5 * SECOND,
};
const USER: Presenter = { kind: "user", ipAddress: "203.0.113.7", userAgent: "phone/2" };
const VAULT: Presenter = { kind: "vault" };

describe("refresh-token rotation", () => {
  let now: number;
  let store: MemorySessionStore;
  let rotation: RefreshRotation;
  let issued: number;

  beforeEach(() => {
    now = Date.parse("2026-06-01T00:00:00Z");
    issued = 0;
    store = new MemorySessionStore(() => now);
    rotation = new RefreshRotation({
      sessions: store,
      graceSealer: new Sealer(Buffer.alloc(32, 7), "refresh-grace"),
      issueAccessToken: async (session) => ({
        token: `access-${session.id}-${++issued}`,
        expiresAt: new Date(now + 300 * SECOND),
      }),
      settings: SETTINGS,
      now: () => now,
    });
  });

  /** Opens a session as the provider does and returns its first refresh token. */
  async function signIn(options: { offline?: boolean; userId?: string } = {}) {
    const token = newOpaqueToken();
    const offline = options.offline ?? false;
    const session = await store.create(
      {
        userId: options.userId ?? "user-1",
        clientId: "gatehouse",
        ipAddress: "198.51.100.1",
        userAgent: "laptop/1",
        authMethods: ["pwd"],
        offline,
        expiresAt: refreshTokenExpiry(SETTINGS, { offline, createdAt: new Date(now) }, now),
      },
      {
        tokenHash: hashOpaqueToken(token),
        expiresAt: refreshTokenExpiry(SETTINGS, { offline, createdAt: new Date(now) }, now),
      },
    );
    return { token, session };
  }

  async function successor(token: string, presenter: Presenter = USER) {
    const result = await rotation.rotate(token, presenter);
    if (!result.ok) throw new Error(`refresh failed: ${result.reason}`);
    return result.tokens;
  }

  it("exchanges the token for a new pair, slides the session and records where the user was seen", async () => {
    const { token, session } = await signIn();
    now += DAY;
    const result = await rotation.rotate(token, USER);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.userId).toBe("user-1");
    expect(result.tokens.sessionId).toBe(session.id);
    expect(result.tokens.refreshToken).not.toBe(token);
    expect(result.tokens.refreshTokenExpiresAt).toEqual(new Date(now + SETTINGS.refreshTokenTtlMs));
    const stored = (await store.get(session.id))!;
    expect(stored.expiresAt).toEqual(new Date(now + SETTINGS.refreshTokenTtlMs));
    expect(stored.lastUsedAt).toEqual(new Date(now));
    expect(stored).toMatchObject({
      ipAddress: "198.51.100.1",
      userAgent: "laptop/1",
      createdAt: session.createdAt,
      lastSeenIpAddress: "203.0.113.7",
      lastSeenUserAgent: "phone/2",
      lastSeenAt: new Date(now),
    });
    // The new token refreshes in turn.
    expect((await rotation.rotate(result.tokens.refreshToken, USER)).ok).toBe(true);
  });

  it("gives concurrent refreshes within the grace window the same pair", async () => {
    const { token } = await signIn();
    const answers = await Promise.all([1, 2, 3, 4].map(() => successor(token)));
    expect(new Set(answers.map((tokens) => tokens.refreshToken)).size).toBe(1);
    expect(new Set(answers.map((tokens) => tokens.accessToken)).size).toBe(1);
    expect(issued).toBe(1);
    now += SETTINGS.graceMs;
    expect((await successor(token)).refreshToken).toBe(answers[0]!.refreshToken);
  });

  it("ends the session when a rotated token comes back after the grace window", async () => {
    const { token, session } = await signIn();
    const next = await successor(token);
    now += SETTINGS.graceMs + 1;
    const reuse = await rotation.rotate(token, USER);
    expect(reuse).toMatchObject({ ok: false, reason: "refresh_token_reused", sessionId: session.id });
    expect(!reuse.ok && reuse.revoked?.id).toBe(session.id);
    expect((await store.get(session.id))!.revokedAt).toEqual(new Date(now));
    expect(store.token(hashOpaqueToken(token))!.successorSealed).toBeUndefined();
    // The thief's successor dies with it, and so does the owner's.
    expect(await rotation.rotate(next.refreshToken, USER)).toMatchObject({
      ok: false,
      reason: "session_ended",
    });
  });

  it("refuses an unknown token without naming a session", async () => {
    expect(await rotation.rotate(newOpaqueToken(), USER)).toEqual({
      ok: false,
      reason: "invalid_refresh_token",
      userId: undefined,
      sessionId: undefined,
    });
  });

  it("refuses a token past its expiry", async () => {
    const { token, session } = await signIn();
    now += SETTINGS.refreshTokenTtlMs;
    expect(await rotation.rotate(token, USER)).toMatchObject({
      ok: false,
      reason: "session_ended",
      sessionId: session.id,
    });
    expect((await store.get(session.id))!.revokedAt).toBeUndefined();
  });

  it("refuses a token past its own expiry while its session lasts", async () => {
    const { token, session } = await signIn();
    // The session outlives this token (its successor would have slid it).
    store.sessions.get(session.id)!.expiresAt = new Date(now + 3 * DAY);
    Object.assign(store.token(hashOpaqueToken(token))!, { expiresAt: new Date(now + DAY) });
    now += 2 * DAY;
    expect(await rotation.rotate(token, USER)).toMatchObject({ ok: false, reason: "refresh_token_expired" });
  });

  it("refuses the tokens of a disabled account and of a revoked session", async () => {
    const disabled = await signIn({ userId: "user-2" });
    store.setUserActive("user-2", false);
    expect(await rotation.rotate(disabled.token, USER)).toMatchObject({
      ok: false,
      reason: "session_ended",
      userId: "user-2",
    });
    const revoked = await signIn();
    await store.revoke({ sessionId: revoked.session.id }, "logout");
    expect(await rotation.rotate(revoked.token, USER)).toMatchObject({ ok: false, reason: "session_ended" });
  });

  it("never slides an online session past its absolute lifetime, and refuses it there", async () => {
    let { token, session } = await signIn();
    // Refreshed every 6 days: each refresh alone would keep it alive for ever.
    for (let day = 6; day < 20; day += 6) {
      now += 6 * DAY;
      const tokens = await successor(token);
      const cap = session.createdAt.getTime() + SETTINGS.sessionMaxLifetimeMs;
      expect(tokens.refreshTokenExpiresAt!.getTime()).toBe(Math.min(now + SETTINGS.refreshTokenTtlMs, cap));
      token = tokens.refreshToken;
    }
    expect((await store.get(session.id))!.expiresAt).toEqual(
      new Date(session.createdAt.getTime() + SETTINGS.sessionMaxLifetimeMs),
    );
    now = session.createdAt.getTime() + SETTINGS.sessionMaxLifetimeMs;
    expect(await rotation.rotate(token, USER)).toMatchObject({ ok: false, reason: "session_ended" });
    session = (await store.get(session.id))!;
    expect(session.revokedAt).toBeUndefined();
  });

  it("lets offline sessions slide on their own lifetime, past the online cap", async () => {
    let { token, session } = await signIn({ offline: true });
    expect(session.expiresAt).toEqual(new Date(now + SETTINGS.offlineTokenTtlMs));
    for (let i = 0; i < 3; i++) {
      now += 25 * DAY;
      const tokens = await successor(token, VAULT);
      expect(tokens.refreshTokenExpiresAt).toEqual(new Date(now + SETTINGS.offlineTokenTtlMs));
      token = tokens.refreshToken;
    }
    session = (await store.get(session.id))!;
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBeGreaterThan(
      SETTINGS.sessionMaxLifetimeMs,
    );
  });

  it("keeps no grace pair for a vault mint: the copy the caller handed over is spent at once", async () => {
    const { token, session } = await signIn();
    await successor(token, VAULT);
    expect(store.token(hashOpaqueToken(token))!.successorSealed).toBeUndefined();
    // The caller presents its copy a moment later, well within the grace window.
    now += 1;
    expect(await rotation.rotate(token, USER)).toMatchObject({
      ok: false,
      reason: "refresh_token_reused",
      sessionId: session.id,
    });
    expect((await store.get(session.id))!.revokedAt).toBeDefined();
  });

  it("does not hand the vault a pair the user also holds", async () => {
    const { token, session } = await signIn();
    await successor(token, USER);
    now += 1;
    expect(await rotation.rotate(token, VAULT)).toMatchObject({ ok: false, reason: "refresh_token_reused" });
    expect((await store.get(session.id))!.revokedAt).toBeDefined();
  });

  it("does not count a vault mint as the user being seen", async () => {
    const { token, session } = await signIn();
    now += DAY;
    await successor(token, VAULT);
    const stored = (await store.get(session.id))!;
    expect(stored.lastUsedAt).toEqual(new Date(now));
    expect(stored).toMatchObject({
      lastSeenIpAddress: "198.51.100.1",
      lastSeenUserAgent: "laptop/1",
      lastSeenAt: session.createdAt,
    });
  });

  it("writes nothing when issuing the access token fails", async () => {
    const { token, session } = await signIn();
    const failing = new RefreshRotation({
      sessions: store,
      graceSealer: new Sealer(Buffer.alloc(32, 7), "refresh-grace"),
      issueAccessToken: async () => {
        throw new Error("no signing key");
      },
      settings: SETTINGS,
      now: () => now,
    });
    await expect(failing.rotate(token, USER)).rejects.toThrow("no signing key");
    expect(store.token(hashOpaqueToken(token))!.rotatedAt).toBeUndefined();
    expect((await successor(token)).sessionId).toBe(session.id);
  });
});
