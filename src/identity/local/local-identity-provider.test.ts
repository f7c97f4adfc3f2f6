import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { MemoryCredentialStore } from "../../../test/support/fakes/memory-credential-store.ts";
import { MemoryRevocationStore } from "../../../test/support/fakes/memory-revocation-store.ts";
import { MemorySessionStore } from "../../../test/support/fakes/memory-session-store.ts";
import { MemorySigningKeyStore } from "../../../test/support/fakes/memory-signing-key-store.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { DomainError } from "../../domain/errors.ts";
import type { ClientInfo, IdentityRef } from "../../domain/ports/identity-provider.ts";
import { AccessTokens } from "./access-tokens.ts";
import { LocalIdentityProvider } from "./local-identity-provider.ts";
import { PasswordHasher } from "./password-hasher.ts";
import { Sealer } from "./sealer.ts";
import { SigningKeyRing } from "./signing-key-ring.ts";
import { Totp } from "./totp.ts";

const PASSWORD = "correct horse battery staple";
const CLIENT: ClientInfo = { ip: "198.51.100.7", userAgent: "unit-test", clientId: "gatehouse" };
const ALICE: IdentityRef = {
  id: "user-alice",
  externalId: "",
  username: "alice",
  email: "alice@example.test",
};
const PERIOD_MS = 30_000;

async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("expected a DomainError");
}

describe("LocalIdentityProvider", () => {
  let now: number;
  let sessions: MemorySessionStore;
  let revocations: MemoryRevocationStore;
  let provider: LocalIdentityProvider;
  const clock = () => now;

  beforeEach(async () => {
    now = Date.parse("2026-12-01T10:00:00Z");
    const rootKey = Buffer.alloc(32, 9);
    const store = new MemoryCoordinationStore();
    const keys = new SigningKeyRing(
      new MemorySigningKeyStore(),
      new Sealer(rootKey, "signing-keys"),
      pino({ level: "silent" }),
      { rotationMs: 30 * 86_400_000, verifyAfterRetirementMs: 600_000, now: clock },
    );
    sessions = new MemorySessionStore(clock);
    revocations = new MemoryRevocationStore();
    provider = new LocalIdentityProvider({
      settings: {
        accessTokenTtlSeconds: 300,
        refreshTokenTtlSeconds: 3600,
        offlineTokenTtlSeconds: 86_400,
        refreshGraceSeconds: 5,
        sessionMaxLifetimeSeconds: 86_400,
        mfaTokenTtlSeconds: 300,
        clockSkewSeconds: 30,
      },
      keys,
      accessTokens: new AccessTokens(keys, {
        issuer: "https://gatehouse.test",
        audience: "gatehouse",
        ttlSeconds: 300,
        clockSkewSeconds: 30,
        now: clock,
      }),
      sessions,
      credentials: new MemoryCredentialStore(),
      // The cheapest argon2id the hasher accepts: these tests are about the rules, not the cost.
      hasher: new PasswordHasher({ memoryKib: 1024, iterations: 1, parallelism: 1 }),
      totp: new Totp(store, "Gatehouse", clock),
      store,
      revocations,
      graceSealer: new Sealer(rootKey, "refresh-grace"),
      totpSealer: new Sealer(rootKey, "totp-secrets"),
      recoveryCodeSealer: new Sealer(rootKey, "recovery-codes"),
      logger: pino({ level: "silent" }),
      now: clock,
    });
    await keys.maintain();
    await provider.setPassword(ALICE, PASSWORD);
  });

  const signIn = (totpCode?: string, password = PASSWORD) =>
    provider.checkPassword({ account: ALICE, login: ALICE.username, password, totpCode });

  /** Enrols and confirms TOTP; returns the secret and the recovery codes. */
  async function enableTotp(): Promise<{ secret: string; recoveryCodes: string[] }> {
    const { secret } = await provider.enrollTotp(ALICE);
    const recoveryCodes = await provider.confirmTotp(ALICE, Totp.generate(secret, now));
    now += PERIOD_MS; // the confirming code is spent: later checks use the next period's
    return { secret, recoveryCodes };
  }

  describe("passwords", () => {
    it("accepts the right password and refuses a wrong one or an unknown account alike", async () => {
      expect(await signIn()).toEqual({ ok: true, userId: ALICE.id, mfa: "not_enrolled" });
      expect(await signIn(undefined, "wrong password")).toEqual({
        ok: false,
        userId: ALICE.id,
        reason: "invalid_credentials",
      });
      expect(
        await provider.checkPassword({
          account: undefined,
          login: "nobody",
          password: PASSWORD,
          totpCode: undefined,
        }),
      ).toEqual({ ok: false, userId: undefined, reason: "invalid_credentials" });
      expect(await provider.verifyPassword(ALICE, PASSWORD)).toBe(true);
      expect(await provider.verifyPassword({ ...ALICE, id: "user-without-password" }, PASSWORD)).toBe(false);
    });
  });

  describe("TOTP and recovery codes", () => {
    it("confirms enrolment only with the current code, then requires a code at sign-in", async () => {
      const { secret } = await provider.enrollTotp(ALICE);
      const wrong = await domainError(provider.confirmTotp(ALICE, "000000"));
      expect([wrong.kind, wrong.reason]).toEqual(["invalid_argument", "invalid_totp_code"]);
      expect(await signIn()).toMatchObject({ ok: true, mfa: "not_enrolled" });

      const codes = await provider.confirmTotp(ALICE, Totp.generate(secret, now));
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      expect((await domainError(provider.enrollTotp(ALICE))).reason).toBe("mfa_already_enabled");

      now += PERIOD_MS;
      expect(await signIn()).toMatchObject({ ok: true, mfa: "required" });
      const code = Totp.generate(secret, now);
      expect(await signIn(code)).toMatchObject({ ok: true, mfa: "verified" });
      // A code works once: the same code again is a replay.
      expect(await signIn(code)).toMatchObject({ ok: false, reason: "invalid_otp" });
    });

    it("answers an MFA challenge once, with a TOTP code or a recovery code that is used up", async () => {
      const { secret, recoveryCodes } = await enableTotp();
      const first = await provider.createMfaChallenge(ALICE);
      expect(first.methods).toEqual(["totp", "recovery_code"]);
      expect(await provider.answerMfaChallenge(first.mfaToken, { recoveryCode: recoveryCodes[0]! })).toEqual({
        ok: true,
        userId: ALICE.id,
        method: "recovery_code",
      });
      // The challenge is spent, and so is the recovery code.
      expect(
        await provider.answerMfaChallenge(first.mfaToken, { totpCode: Totp.generate(secret, now) }),
      ).toEqual({
        ok: false,
        userId: undefined,
        reason: "invalid_mfa_token",
      });
      const second = await provider.createMfaChallenge(ALICE);
      expect(
        await provider.answerMfaChallenge(second.mfaToken, { recoveryCode: recoveryCodes[0]! }),
      ).toMatchObject({
        ok: false,
        reason: "invalid_recovery_code",
      });
      expect(
        await provider.answerMfaChallenge(second.mfaToken, { totpCode: Totp.generate(secret, now) }),
      ).toEqual({
        ok: true,
        userId: ALICE.id,
        method: "otp",
      });
    });

    it("voids a challenge after five wrong answers, even for the right code", async () => {
      const { secret } = await enableTotp();
      const challenge = await provider.createMfaChallenge(ALICE);
      for (let attempt = 0; attempt < 5; attempt++) {
        expect(await provider.answerMfaChallenge(challenge.mfaToken, { totpCode: "000000" })).toMatchObject({
          reason: "invalid_otp",
        });
      }
      expect(
        await provider.answerMfaChallenge(challenge.mfaToken, { totpCode: Totp.generate(secret, now) }),
      ).toMatchObject({ ok: false, reason: "invalid_mfa_token" });
    });

    it("checks a second factor, replaces the recovery codes and turns MFA off", async () => {
      const { secret, recoveryCodes } = await enableTotp();
      expect(await provider.verifySecondFactor(ALICE, { totpCode: "000000" })).toBe(false);
      expect(await provider.verifySecondFactor(ALICE, { totpCode: Totp.generate(secret, now) })).toBe(true);
      const fresh = await provider.regenerateRecoveryCodes(ALICE);
      expect(fresh.some((code) => recoveryCodes.includes(code))).toBe(false);
      expect(await provider.verifySecondFactor(ALICE, { recoveryCode: recoveryCodes[1]! })).toBe(false);
      expect(await provider.verifySecondFactor(ALICE, { recoveryCode: fresh[0]! })).toBe(true);

      await provider.disableTotp(ALICE);
      expect(await signIn()).toMatchObject({ ok: true, mfa: "not_enrolled" });
      expect(await provider.verifySecondFactor(ALICE, { recoveryCode: fresh[1]! })).toBe(false);
      expect((await domainError(provider.regenerateRecoveryCodes(ALICE))).reason).toBe("mfa_not_enabled");
    });
  });

  describe("sessions", () => {
    it("issues tokens for a session whose access token names it, and rotates its refresh token", async () => {
      const issued = await provider.startSession(ALICE, CLIENT, ["pwd"]);
      const claims = await provider.verifyAccessToken(issued.accessToken);
      expect(claims).toMatchObject({ kind: "user", subjectId: ALICE.id, sessionId: issued.sessionId });

      now += 60_000;
      const refreshed = await provider.refresh(issued.refreshToken, CLIENT);
      expect(refreshed.ok).toBe(true);
      if (!refreshed.ok) return;
      expect(refreshed.tokens.sessionId).toBe(issued.sessionId);
      expect(refreshed.tokens.refreshToken).not.toBe(issued.refreshToken);
      expect(await provider.inspectRefreshToken(issued.refreshToken)).toBeUndefined();
      expect(await provider.inspectRefreshToken(refreshed.tokens.refreshToken)).toMatchObject({
        id: issued.sessionId,
        userId: ALICE.id,
      });
    });

    it("ends a session: its refresh token stops working and its access tokens are revoked", async () => {
      const issued = await provider.startSession(ALICE, CLIENT, ["pwd"]);
      expect(await provider.endSession({ refreshToken: issued.refreshToken }, "logout")).toEqual({
        sessionId: issued.sessionId,
        userId: ALICE.id,
      });
      expect(revocations.sessions.has(issued.sessionId)).toBe(true);
      expect(await provider.refresh(issued.refreshToken, CLIENT)).toMatchObject({
        ok: false,
        reason: "session_ended",
      });
      expect(await provider.listSessions(ALICE.id)).toEqual([]);
    });

    it("ends a user's sessions but the one kept, offline ones too unless told not to", async () => {
      const kept = await provider.startSession(ALICE, CLIENT, ["pwd"]);
      const other = await provider.startSession(ALICE, CLIENT, ["pwd"]);
      const offline = await provider.startOfflineSession(ALICE, CLIENT, ["pwd"]);
      expect(
        await provider.endUserSessions(ALICE.id, "signed_out", {
          exceptSessionId: kept.sessionId,
          includeOffline: false,
        }),
      ).toBe(1);
      const live = (await provider.listSessions(ALICE.id)).map((session) => session.id).sort();
      expect(live).toEqual([kept.sessionId, offline.sessionId].sort());
      expect(revocations.sessions.has(other.sessionId)).toBe(true);

      expect(await provider.endUserSessions(ALICE.id, "password_changed")).toBe(2);
      expect(await provider.listSessions(ALICE.id)).toEqual([]);
    });

    it("refuses to refresh for an account that is no longer active", async () => {
      const issued = await provider.startSession(ALICE, CLIENT, ["pwd"]);
      sessions.setUserActive(ALICE.id, false);
      const refused = await provider.refresh(issued.refreshToken, CLIENT);
      expect(refused.ok).toBe(false);
    });
  });

  it("issues service-account tokens without a session", async () => {
    const issued = await provider.issueServiceAccountToken({ id: "account-1", clientId: "billing" });
    expect(issued.sessionId).toBe("");
    expect(issued.refreshToken).toBe("");
    expect(await provider.verifyAccessToken(issued.accessToken)).toMatchObject({
      kind: "service_account",
      subjectId: "account-1",
      clientId: "billing",
    });
  });
});
