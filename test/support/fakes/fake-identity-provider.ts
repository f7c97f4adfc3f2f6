import { randomUUID } from "node:crypto";
import { DomainError } from "../../../src/domain/errors.ts";
import type {
  ClientInfo,
  IdentityFields,
  IdentityProvider,
  IdentityRef,
  IssuedTokens,
  MfaAnswer,
  MfaChallenge,
  MfaCheck,
  PasswordCheck,
  RefreshResult,
  SessionInfo,
  TotpEnrollment,
} from "../../../src/domain/ports/identity-provider.ts";
import type { AccessTokenClaims } from "../../../src/domain/tokens/access-token.ts";

interface Account {
  fields: IdentityFields;
  password: string | undefined;
  /** The one code that passes, once MFA is on. */
  totpCode: string | undefined;
  pendingTotp: boolean;
  recoveryCodes: Set<string>;
}

interface Challenge {
  readonly userId: string;
  readonly expiresAt: Date;
  wrongAnswers: number;
}

/** Wrong answers after which a challenge ends, like the built-in provider's. */
const CHALLENGE_ATTEMPTS = 3;

/**
 * An identity provider in memory, with the behaviour the domain relies on:
 * passwords, TOTP (one fixed valid code per account), MFA challenges that end
 * on success or after a few wrong answers, sessions and their ending. It
 * records the calls the domain makes (`calls`), and `failOn` makes a method
 * throw, as a provider outage would.
 */
export class FakeIdentityProvider implements IdentityProvider {
  readonly kind = "local" as const;
  readonly accounts = new Map<string, Account>();
  readonly sessions = new Map<string, SessionInfo & { methods: readonly string[] }>();
  readonly challenges = new Map<string, Challenge>();
  /** Method name and the account or user id it was called for, in order. */
  readonly calls: Array<{ method: string; id: string; detail?: unknown }> = [];
  /** Under Keycloak the provider mails account actions itself; set by `mailsAccountActions`. */
  sendAccountActionEmail?: (
    account: IdentityRef,
    purpose: "password_reset" | "email_verification",
  ) => Promise<void>;
  now: () => number = Date.now;
  private readonly failures = new Map<string, Error>();

  /** Makes the provider mail password resets and verification itself (Keycloak's behaviour). */
  mailsAccountActions(): this {
    this.sendAccountActionEmail = async (account, purpose) => {
      this.record("sendAccountActionEmail", account.id, purpose);
    };
    return this;
  }

  /** The next calls of `method` throw `error` (unavailable by default) until `recover(method)`. */
  failOn(method: keyof IdentityProvider, error?: Error): void {
    this.failures.set(
      method,
      error ?? new DomainError("unavailable", "identity_provider_unavailable", "the provider is unreachable"),
    );
  }

  recover(method: keyof IdentityProvider): void {
    this.failures.delete(method);
  }

  /** Turns MFA on for the account: `code` passes as its TOTP code; returns its recovery codes. */
  enableMfa(userId: string, code = "123456"): string[] {
    const account = this.account(userId);
    account.totpCode = code;
    account.recoveryCodes = new Set([randomUUID(), randomUUID()]);
    return [...account.recoveryCodes];
  }

  callsOf(method: string): Array<{ id: string; detail?: unknown }> {
    return this.calls.filter((call) => call.method === method).map(({ method: _method, ...call }) => call);
  }

  private record(method: string, id: string, detail?: unknown): void {
    const failure = this.failures.get(method);
    if (failure !== undefined) throw failure;
    this.calls.push(detail === undefined ? { method, id } : { method, id, detail });
  }

  private account(id: string): Account {
    const account = this.accounts.get(id);
    if (account === undefined) throw new DomainError("not_found", "user_not_found", "no such user");
    return account;
  }

  async verifyAccessToken(_token: string): Promise<AccessTokenClaims> {
    throw new DomainError("unauthenticated", "malformed_token", "the fake provider verifies no tokens");
  }

  async checkPassword(input: {
    readonly account: IdentityRef | undefined;
    readonly login: string;
    readonly password: string;
    readonly totpCode: string | undefined;
  }): Promise<PasswordCheck> {
    this.record("checkPassword", input.account?.id ?? "");
    const account = input.account === undefined ? undefined : this.accounts.get(input.account.id);
    if (account === undefined || account.password === undefined || account.password !== input.password) {
      return {
        ok: false,
        userId: account === undefined ? undefined : input.account!.id,
        reason: "invalid_credentials",
      };
    }
    const userId = input.account!.id;
    if (account.totpCode === undefined) return { ok: true, userId, mfa: "not_enrolled" };
    if (input.totpCode === undefined) return { ok: true, userId, mfa: "required" };
    if (input.totpCode !== account.totpCode) return { ok: false, userId, reason: "invalid_otp" };
    return { ok: true, userId, mfa: "verified" };
  }

  async createMfaChallenge(account: IdentityRef): Promise<MfaChallenge> {
    this.record("createMfaChallenge", account.id);
    const mfaToken = randomUUID();
    const expiresAt = new Date(this.now() + 300_000);
    this.challenges.set(mfaToken, { userId: account.id, expiresAt, wrongAnswers: 0 });
    return { mfaToken, expiresAt, methods: ["totp", "recovery_code"] };
  }

  async answerMfaChallenge(mfaToken: string, answer: MfaAnswer): Promise<MfaCheck> {
    this.record("answerMfaChallenge", mfaToken);
    const challenge = this.challenges.get(mfaToken);
    if (challenge === undefined || challenge.expiresAt.getTime() <= this.now()) {
      return { ok: false, userId: undefined, reason: "invalid_mfa_token" };
    }
    const account = this.account(challenge.userId);
    const right =
      "totpCode" in answer
        ? answer.totpCode === account.totpCode
        : account.recoveryCodes.delete(answer.recoveryCode);
    if (right) {
      this.challenges.delete(mfaToken);
      return { ok: true, userId: challenge.userId, method: "totpCode" in answer ? "otp" : "recovery_code" };
    }
    if (++challenge.wrongAnswers >= CHALLENGE_ATTEMPTS) this.challenges.delete(mfaToken);
    return {
      ok: false,
      userId: challenge.userId,
      reason: "totpCode" in answer ? "invalid_otp" : "invalid_recovery_code",
    };
  }

  async startSession(
    account: IdentityRef,
    client: ClientInfo,
    authMethods: readonly string[],
  ): Promise<IssuedTokens> {
    this.record("startSession", account.id, authMethods);
    const now = new Date(this.now());
    const session = {
      id: randomUUID(),
      userId: account.id,
      clientId: client.clientId,
      ipAddress: client.ip,
      userAgent: client.userAgent,
      startedAt: now,
      lastUsedAt: now,
      lastSeenIpAddress: client.ip,
      lastSeenUserAgent: client.userAgent,
      lastSeenAt: now,
      expiresAt: new Date(this.now() + 3_600_000),
      offline: false,
      revokedAt: undefined,
      methods: authMethods,
    };
    this.sessions.set(session.id, session);
    return {
      accessToken: `access-${session.id}`,
      accessTokenExpiresAt: new Date(this.now() + 300_000),
      refreshToken: `refresh-${session.id}`,
      refreshTokenExpiresAt: session.expiresAt,
      sessionId: session.id,
      scope: "",
    };
  }

  async refresh(refreshToken: string, _client: ClientInfo): Promise<RefreshResult> {
    this.record("refresh", refreshToken);
    const session = this.sessions.get(refreshToken.replace(/^refresh-/, ""));
    if (session === undefined) {
      return { ok: false, reason: "invalid_refresh_token", userId: undefined, sessionId: undefined };
    }
    if (session.revokedAt !== undefined) {
      return { ok: false, reason: "session_ended", userId: session.userId, sessionId: session.id };
    }
    return {
      ok: true,
      userId: session.userId,
      tokens: {
        accessToken: `access-${session.id}-${randomUUID()}`,
        accessTokenExpiresAt: new Date(this.now() + 300_000),
        refreshToken,
        refreshTokenExpiresAt: session.expiresAt,
        sessionId: session.id,
        scope: "",
      },
    };
  }

  async endSession(
    session: { readonly refreshToken: string } | { readonly sessionId: string },
    reason: string,
  ): Promise<{ readonly sessionId: string; readonly userId: string } | undefined> {
    const id = "sessionId" in session ? session.sessionId : session.refreshToken.replace(/^refresh-/, "");
    this.record("endSession", id, reason);
    const found = this.sessions.get(id);
    if (found === undefined || found.revokedAt !== undefined) return undefined;
    this.sessions.set(id, { ...found, revokedAt: new Date(this.now()) });
    return { sessionId: id, userId: found.userId };
  }

  async endUserSessions(
    userId: string,
    reason: string,
    options: { readonly exceptSessionId?: string; readonly includeOffline?: boolean } = {},
  ): Promise<number> {
    this.record("endUserSessions", userId, reason);
    let ended = 0;
    for (const session of this.sessions.values()) {
      if (
        session.userId === userId &&
        session.id !== options.exceptSessionId &&
        session.revokedAt === undefined &&
        (!session.offline || options.includeOffline === true)
      ) {
        this.sessions.set(session.id, { ...session, revokedAt: new Date(this.now()) });
        ended++;
      }
    }
    return ended;
  }

  async getSession(sessionId: string): Promise<SessionInfo | undefined> {
    return this.sessions.get(sessionId);
  }

  async listSessions(userId: string): Promise<SessionInfo[]> {
    return [...this.sessions.values()].filter(
      (session) => session.userId === userId && session.revokedAt === undefined,
    );
  }

  async issueServiceAccountToken(account: {
    readonly id: string;
    readonly clientId: string;
  }): Promise<IssuedTokens> {
    this.record("issueServiceAccountToken", account.id);
    return {
      accessToken: `service-${account.id}`,
      accessTokenExpiresAt: new Date(this.now() + 300_000),
      refreshToken: "",
      refreshTokenExpiresAt: undefined,
      sessionId: "",
      scope: "",
    };
  }

  async verifySecondFactor(account: IdentityRef, answer: MfaAnswer): Promise<boolean> {
    this.record("verifySecondFactor", account.id);
    const found = this.account(account.id);
    if (found.totpCode === undefined) return false;
    return "totpCode" in answer
      ? answer.totpCode === found.totpCode
      : found.recoveryCodes.delete(answer.recoveryCode);
  }

  async createUser(userId: string, fields: IdentityFields): Promise<{ readonly externalId: string }> {
    this.record("createUser", userId);
    this.accounts.set(userId, {
      fields,
      password: undefined,
      totpCode: undefined,
      pendingTotp: false,
      recoveryCodes: new Set(),
    });
    return { externalId: "" };
  }

  async updateUser(account: IdentityRef, fields: Partial<IdentityFields>): Promise<void> {
    this.record("updateUser", account.id, fields);
    const found = this.account(account.id);
    found.fields = { ...found.fields, ...fields };
  }

  async deleteUser(account: IdentityRef): Promise<void> {
    this.record("deleteUser", account.id);
    this.accounts.delete(account.id);
  }

  async setPassword(account: IdentityRef, password: string): Promise<void> {
    this.record("setPassword", account.id);
    this.account(account.id).password = password;
  }

  async verifyPassword(account: IdentityRef, password: string): Promise<boolean> {
    this.record("verifyPassword", account.id);
    return this.accounts.get(account.id)?.password === password;
  }

  async enrollTotp(account: IdentityRef): Promise<TotpEnrollment> {
    this.record("enrollTotp", account.id);
    this.account(account.id).pendingTotp = true;
    return { secret: "JBSWY3DPEHPK3PXP", otpauthUri: "otpauth://totp/fake", qrCodePng: new Uint8Array() };
  }

  async confirmTotp(account: IdentityRef, code: string): Promise<string[]> {
    this.record("confirmTotp", account.id);
    const found = this.account(account.id);
    if (!found.pendingTotp || code !== "123456") {
      throw new DomainError("invalid_argument", "invalid_otp", "the one-time code is wrong");
    }
    found.pendingTotp = false;
    return this.enableMfa(account.id, code);
  }

  async disableTotp(account: IdentityRef): Promise<void> {
    this.record("disableTotp", account.id);
    const found = this.account(account.id);
    found.totpCode = undefined;
    found.recoveryCodes = new Set();
  }

  async regenerateRecoveryCodes(account: IdentityRef): Promise<string[]> {
    this.record("regenerateRecoveryCodes", account.id);
    const found = this.account(account.id);
    found.recoveryCodes = new Set([randomUUID(), randomUUID()]);
    return [...found.recoveryCodes];
  }

  async close(): Promise<void> {}
}
