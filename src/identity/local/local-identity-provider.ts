import { randomInt } from "node:crypto";
import { DomainError } from "../../domain/errors.ts";
import { hashOpaqueToken, newOpaqueToken } from "../../domain/opaque-token.ts";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";
import type { CredentialStore } from "../../domain/ports/credential-store.ts";
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
} from "../../domain/ports/identity-provider.ts";
import type { SessionRecord, SessionStore, TokenGrant } from "../../domain/ports/session-store.ts";
import type { RevocationStore } from "../../domain/revocation/revocation-store.ts";
import type { AccessTokenClaims } from "../../domain/tokens/access-token.ts";
import type { Logger } from "../../observability/logger.ts";
import type { AccessTokens } from "./access-tokens.ts";
import type { PasswordHasher } from "./password-hasher.ts";
import {
  type Presenter,
  RefreshRotation,
  refreshTokenExpiry,
  type SessionLifetimes,
} from "./refresh-rotation.ts";
import type { Sealer } from "./sealer.ts";
import type { SigningKeyRing } from "./signing-key-ring.ts";
import type { Totp } from "./totp.ts";

export interface LocalProviderSettings {
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Lifetime of offline sessions' refresh tokens (sliding, like refresh tokens); refreshTokenTtlSeconds if unset. */
  readonly offlineTokenTtlSeconds?: number;
  readonly refreshGraceSeconds: number;
  /** How long an online session may last in all, refreshed or not (SESSION_MAX_LIFETIME_SECONDS). */
  readonly sessionMaxLifetimeSeconds: number;
  readonly mfaTokenTtlSeconds: number;
  readonly clockSkewSeconds: number;
}

export interface LocalProviderDeps {
  readonly settings: LocalProviderSettings;
  readonly keys: SigningKeyRing;
  readonly accessTokens: AccessTokens;
  readonly sessions: SessionStore;
  readonly credentials: CredentialStore;
  readonly hasher: PasswordHasher;
  readonly totp: Totp;
  readonly store: CoordinationStore;
  readonly revocations: RevocationStore;
  /** Seals the pair kept for the refresh grace window. */
  readonly graceSealer: Sealer;
  /** Seals TOTP secrets. */
  readonly totpSealer: Sealer;
  /** Keys the recovery-code hashes. */
  readonly recoveryCodeSealer: Sealer;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Wrong answers one MFA challenge takes before it is void. */
const MFA_MAX_ATTEMPTS = 5;
const RECOVERY_CODE_COUNT = 10;
// Crockford-style base32 without i, l, o, u: 10 characters carry 50 bits.
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const PRUNE_INTERVAL_MS = 3_600_000;
/** Ended sessions (with their rotated refresh tokens, for reuse detection) are kept this long. */
const ENDED_SESSION_RETENTION_MS = 7 * 86_400_000;

const normalizeRecoveryCode = (code: string) => code.toLowerCase().replace(/[^0-9a-z]/g, "");

/**
 * The built-in identity provider: argon2id passwords, ES256 access tokens
 * from our own key ring, opaque rotating refresh tokens bound to sessions in
 * the database, TOTP with recovery codes, and MFA challenges and TOTP replay
 * markers in the coordination store (while it is unreachable, MFA sign-in
 * answers UNAVAILABLE coordination_unavailable rather than weaken single use).
 */
export class LocalIdentityProvider implements IdentityProvider {
  readonly kind = "local" as const;
  private readonly deps: LocalProviderDeps;
  private readonly now: () => number;
  private readonly lifetimes: SessionLifetimes;
  private readonly rotation: RefreshRotation;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(deps: LocalProviderDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    const { settings } = deps;
    this.lifetimes = {
      refreshTokenTtlMs: settings.refreshTokenTtlSeconds * 1000,
      offlineTokenTtlMs: (settings.offlineTokenTtlSeconds ?? settings.refreshTokenTtlSeconds) * 1000,
      sessionMaxLifetimeMs: settings.sessionMaxLifetimeSeconds * 1000,
    };
    this.rotation = new RefreshRotation({
      sessions: deps.sessions,
      graceSealer: deps.graceSealer,
      issueAccessToken: (session, grant) =>
        deps.accessTokens.issue({
          kind: "user",
          subjectId: session.userId,
          sessionId: session.id,
          clientId: grant?.clientId ?? session.clientId,
          ...(grant === undefined ? {} : { audience: grant.audience, scope: grant.scope }),
        }),
      settings: { ...this.lifetimes, graceMs: settings.refreshGraceSeconds * 1000 },
      now: this.now,
    });
  }

  async start(): Promise<void> {
    await this.deps.keys.start();
    this.pruneTimer = setInterval(() => {
      this.deps.sessions
        .pruneEndedBefore(new Date(this.now() - ENDED_SESSION_RETENTION_MS))
        .catch((error: unknown) => this.deps.logger.error({ err: error }, "pruning ended sessions failed"));
    }, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  async close(): Promise<void> {
    this.deps.keys.stop();
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer);
  }

  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    return this.deps.accessTokens.verifyAccessToken(token);
  }

  // --- Signing in ---

  async checkPassword(input: {
    account: IdentityRef | undefined;
    login: string;
    password: string;
    totpCode: string | undefined;
  }): Promise<PasswordCheck> {
    const { hasher, credentials } = this.deps;
    const passwordHash =
      input.account === undefined ? undefined : await credentials.passwordHash(input.account.id);
    if (input.account === undefined || passwordHash === undefined) {
      await hasher.verifyNothing(input.password);
      return { ok: false, userId: input.account?.id, reason: "invalid_credentials" };
    }
    const userId = input.account.id;
    if (!(await hasher.verify(passwordHash, input.password))) {
      return { ok: false, userId, reason: "invalid_credentials" };
    }
    if (hasher.needsRehash(passwordHash)) {
      // Parameters changed since this hash was made: upgrade it now that we know the password.
      await credentials.setPasswordHash(userId, await hasher.hash(input.password));
    }
    const totp = await credentials.totp(userId);
    if (totp === undefined || !totp.confirmed) return { ok: true, userId, mfa: "not_enrolled" };
    if (input.totpCode === undefined) return { ok: true, userId, mfa: "required" };
    return (await this.verifyTotp(userId, totp.secretSealed, input.totpCode))
      ? { ok: true, userId, mfa: "verified" }
      : { ok: false, userId, reason: "invalid_otp" };
  }

  private verifyTotp(userId: string, secretSealed: string, code: string): Promise<boolean> {
    return this.deps.totp.verify(userId, this.deps.totpSealer.open(secretSealed, userId), code);
  }

  async createMfaChallenge(account: IdentityRef): Promise<MfaChallenge> {
    const mfaToken = newOpaqueToken();
    const ttlMs = this.deps.settings.mfaTokenTtlSeconds * 1000;
    await this.deps.store.set(`mfa:challenge:${hashOpaqueToken(mfaToken)}`, account.id, ttlMs);
    return { mfaToken, expiresAt: new Date(this.now() + ttlMs), methods: ["totp", "recovery_code"] };
  }

  async answerMfaChallenge(mfaToken: string, answer: MfaAnswer): Promise<MfaCheck> {
    const { store, credentials } = this.deps;
    const key = hashOpaqueToken(mfaToken);
    const ttlMs = this.deps.settings.mfaTokenTtlSeconds * 1000;
    const userId = await store.get(`mfa:challenge:${key}`);
    if (userId === undefined) return { ok: false, userId: undefined, reason: "invalid_mfa_token" };
    const attempts = await store.increment(`mfa:attempts:${key}`, ttlMs);
    if (attempts.count > MFA_MAX_ATTEMPTS) {
      await store.delete(`mfa:challenge:${key}`);
      return { ok: false, userId, reason: "invalid_mfa_token" };
    }
    let passed: boolean;
    if ("totpCode" in answer) {
      const totp = await credentials.totp(userId);
      passed =
        totp?.confirmed === true && (await this.verifyTotp(userId, totp.secretSealed, answer.totpCode));
      if (!passed) return { ok: false, userId, reason: "invalid_otp" };
    } else {
      passed = await credentials.consumeRecoveryCode(
        userId,
        this.recoveryCodeHash(userId, answer.recoveryCode),
      );
      if (!passed) return { ok: false, userId, reason: "invalid_recovery_code" };
    }
    // Single use, across replicas: of two concurrent right answers only one gets tokens.
    if (!(await store.setIfAbsent(`mfa:used:${key}`, "1", ttlMs))) {
      return { ok: false, userId, reason: "invalid_mfa_token" };
    }
    await store.delete(`mfa:challenge:${key}`);
    return { ok: true, userId, method: "totpCode" in answer ? "otp" : "recovery_code" };
  }

  async mfaChallengeUser(mfaToken: string): Promise<string | undefined> {
    return this.deps.store.get(`mfa:challenge:${hashOpaqueToken(mfaToken)}`);
  }

  async settleMfaChallenge(mfaTokenHash: string): Promise<boolean> {
    const { store } = this.deps;
    const key = mfaTokenHash;
    if ((await store.get(`mfa:challenge:${key}`)) === undefined) return false;
    // The same marker as a TOTP answer's: of a passkey and a code answering at once, one wins.
    if (!(await store.setIfAbsent(`mfa:used:${key}`, "1", this.deps.settings.mfaTokenTtlSeconds * 1000))) {
      return false;
    }
    await store.delete(`mfa:challenge:${key}`);
    return true;
  }

  // --- Sessions ---

  startSession(
    account: IdentityRef,
    client: ClientInfo,
    authMethods: readonly string[],
  ): Promise<IssuedTokens> {
    return this.openSession(account, client, authMethods, false);
  }

  /**
   * An offline session (the token vault's RequestOfflineToken): its refresh
   * token lives OFFLINE_TOKEN_TTL_SECONDS, rotates like any other, and the
   * session survives the user's logout of their other sessions.
   */
  startOfflineSession(
    account: IdentityRef,
    client: ClientInfo,
    authMethods: readonly string[],
  ): Promise<IssuedTokens> {
    return this.openSession(account, client, authMethods, true);
  }

  private async openSession(
    account: IdentityRef,
    client: ClientInfo,
    authMethods: readonly string[],
    offline: boolean,
  ): Promise<IssuedTokens> {
    const refreshToken = newOpaqueToken();
    const now = this.now();
    const refreshTokenExpiresAt = refreshTokenExpiry(
      this.lifetimes,
      { offline, createdAt: new Date(now) },
      now,
    );
    const session = await this.deps.sessions.create(
      {
        userId: account.id,
        clientId: client.clientId,
        ipAddress: client.ip,
        userAgent: client.userAgent,
        authMethods,
        offline,
        expiresAt: refreshTokenExpiresAt,
      },
      { tokenHash: hashOpaqueToken(refreshToken), expiresAt: refreshTokenExpiresAt },
    );
    const access = await this.deps.accessTokens.issue({
      kind: "user",
      subjectId: account.id,
      sessionId: session.id,
      clientId: client.clientId,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      sessionId: session.id,
      scope: "",
    };
  }

  /**
   * Tokens for an OIDC client from a live sign-in session (the authorization
   * code grant, #13): an access token for the grant and, when asked, a new
   * refresh-token chain in that same session, so that ending the session
   * (any door: Logout, end-session, an admin, a password reset) ends them.
   * Undefined when the session is no longer live.
   */
  async issueForClient(
    sessionId: string,
    grant: TokenGrant,
    options: { readonly withRefreshToken: boolean; readonly offline?: boolean },
  ): Promise<(IssuedTokens & { readonly tokenId: string }) | undefined> {
    let refreshToken = "";
    let refreshTokenExpiresAt: Date | undefined;
    let session: SessionRecord | undefined;
    if (options.withRefreshToken && options.offline === true) {
      // offline_access (OIDC Core §11): an offline session of its own for the user of the live
      // sign-in, as RequestOfflineToken makes: it outlives that sign-in's logout and ends on its
      // own revocation (RevokeSession, /oidc/revoke, LogoutEverywhere with include_offline).
      const current = await this.deps.sessions.get(sessionId);
      if (
        current === undefined ||
        current.revokedAt !== undefined ||
        current.expiresAt.getTime() <= this.now()
      ) {
        return undefined;
      }
      refreshToken = newOpaqueToken();
      const now = this.now();
      refreshTokenExpiresAt = refreshTokenExpiry(
        this.lifetimes,
        { offline: true, createdAt: new Date(now) },
        now,
      );
      session = await this.deps.sessions.create(
        {
          userId: current.userId,
          clientId: grant.clientId,
          ipAddress: current.lastSeenIpAddress,
          userAgent: current.lastSeenUserAgent,
          authMethods: current.authMethods,
          offline: true,
          expiresAt: refreshTokenExpiresAt,
        },
        { tokenHash: hashOpaqueToken(refreshToken), expiresAt: refreshTokenExpiresAt, grant },
      );
    } else if (options.withRefreshToken) {
      const current = await this.deps.sessions.get(sessionId);
      if (current === undefined) return undefined;
      refreshToken = newOpaqueToken();
      refreshTokenExpiresAt = refreshTokenExpiry(this.lifetimes, current, this.now());
      session = await this.deps.sessions.addRefreshToken(sessionId, {
        tokenHash: hashOpaqueToken(refreshToken),
        expiresAt: refreshTokenExpiresAt,
        grant,
      });
    } else {
      session = await this.deps.sessions.get(sessionId);
      if (
        session !== undefined &&
        (session.revokedAt !== undefined || session.expiresAt.getTime() <= this.now())
      )
        session = undefined;
    }
    if (session === undefined) return undefined;
    const access = await this.deps.accessTokens.issue({
      kind: "user",
      subjectId: session.userId,
      sessionId: session.id,
      clientId: grant.clientId,
      audience: grant.audience,
      scope: grant.scope,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      sessionId: session.id,
      scope: grant.scope,
      tokenId: access.tokenId,
    };
  }

  /** Refuses one access token at once, on every replica (a replayed authorization code's). */
  revokeAccessToken(tokenId: string, expiresAt: Date): Promise<void> {
    const until = new Date(expiresAt.getTime() + this.deps.settings.clockSkewSeconds * 1000);
    return this.deps.revocations.revokeToken(tokenId, until);
  }

  refresh(refreshToken: string, client: ClientInfo): Promise<RefreshResult> {
    return this.rotate(refreshToken, { kind: "user", ipAddress: client.ip, userAgent: client.userAgent });
  }

  /**
   * The token vault's refresh of a token handed to it: no grace pair is kept
   * (so the copy the caller handed over is spent at once, and presenting it
   * again ends the session), and the session's last-seen values stay the
   * user's, not the vault caller's.
   */
  refreshForVault(refreshToken: string): Promise<RefreshResult> {
    return this.rotate(refreshToken, { kind: "vault" });
  }

  private async rotate(refreshToken: string, presenter: Presenter): Promise<RefreshResult> {
    const result = await this.rotation.rotate(refreshToken, presenter);
    if (result.ok) return result;
    const { revoked, ...failure } = result;
    if (revoked !== undefined) await this.revokeSessionTokens(revoked);
    return failure;
  }

  /**
   * What a refresh token would refresh, without rotating it (the token vault
   * checks a token before storing it): undefined unless it is the session's
   * current token, unexpired, of a live session of an active account.
   */
  async inspectRefreshToken(refreshToken: string): Promise<SessionInfo | undefined> {
    const found = await this.deps.sessions.findRefreshToken(hashOpaqueToken(refreshToken));
    const now = this.now();
    if (
      found === undefined ||
      found.rotated ||
      !found.userActive ||
      found.expiresAt.getTime() <= now ||
      found.session.revokedAt !== undefined ||
      found.session.expiresAt.getTime() <= now
    ) {
      return undefined;
    }
    return { ...toSessionInfo(found.session), expiresAt: found.expiresAt };
  }

  /** Makes every access token of the session fail at once, on every replica. */
  private revokeSessionTokens(session: SessionRecord): Promise<void> {
    const { accessTokenTtlSeconds, clockSkewSeconds } = this.deps.settings;
    const until = new Date(this.now() + (accessTokenTtlSeconds + clockSkewSeconds) * 1000);
    return this.deps.revocations.revokeSession(session.id, until);
  }

  async endSession(
    session: { refreshToken: string } | { sessionId: string; includeOffline?: boolean },
    reason: string,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    // One id is one session here, online or offline: includeOffline changes nothing.
    const ended = await this.deps.sessions.revoke(
      "refreshToken" in session
        ? { tokenHash: hashOpaqueToken(session.refreshToken) }
        : { sessionId: session.sessionId },
      reason,
    );
    if (ended === undefined) return undefined;
    // Also when the database already had it revoked: a retried logout must finish what a failed one began.
    const { accessTokenTtlSeconds, clockSkewSeconds } = this.deps.settings;
    const recent =
      (ended.session.revokedAt?.getTime() ?? this.now()) + (accessTokenTtlSeconds + clockSkewSeconds) * 1000;
    if (ended.wasLive || recent > this.now()) await this.revokeSessionTokens(ended.session);
    return { sessionId: ended.session.id, userId: ended.session.userId };
  }

  async endUserSessions(
    userId: string,
    reason: string,
    options: { exceptSessionId?: string; includeOffline?: boolean } = {},
  ): Promise<number> {
    const ended = await this.deps.sessions.revokeAllOfUser(userId, reason, options);
    await Promise.all(ended.map((session) => this.revokeSessionTokens(session)));
    return ended.length;
  }

  async getSession(sessionId: string): Promise<SessionInfo | undefined> {
    const session = await this.deps.sessions.get(sessionId);
    return session === undefined ? undefined : toSessionInfo(session);
  }

  async listSessions(userId: string): Promise<SessionInfo[]> {
    return (await this.deps.sessions.listLive(userId)).map(toSessionInfo);
  }

  async issueServiceAccountToken(account: { id: string; clientId: string }): Promise<IssuedTokens> {
    const access = await this.deps.accessTokens.issue({
      kind: "service_account",
      subjectId: account.id,
      sessionId: "",
      clientId: account.clientId,
    });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: "",
      refreshTokenExpiresAt: undefined,
      sessionId: "",
      scope: "",
    };
  }

  // --- Users and credentials: the users table is the built-in provider's store ---

  async createUser(_userId: string, _fields: IdentityFields): Promise<{ externalId: string }> {
    return { externalId: "" };
  }

  async updateUser(): Promise<void> {}

  async deleteUser(): Promise<void> {}

  async setPassword(account: IdentityRef, password: string): Promise<void> {
    await this.deps.credentials.setPasswordHash(account.id, await this.deps.hasher.hash(password));
  }

  async verifyPassword(account: IdentityRef, password: string): Promise<boolean> {
    const passwordHash = await this.deps.credentials.passwordHash(account.id);
    if (passwordHash === undefined) {
      await this.deps.hasher.verifyNothing(password);
      return false;
    }
    return this.deps.hasher.verify(passwordHash, password);
  }

  async enrollTotp(account: IdentityRef): Promise<TotpEnrollment> {
    const { totp, totpSealer, credentials } = this.deps;
    const secret = totp.newSecret();
    if (!(await credentials.startTotpEnrollment(account.id, totpSealer.seal(secret, account.id)))) {
      throw new DomainError(
        "failed_precondition",
        "mfa_already_enabled",
        "MFA is already on for this account",
      );
    }
    return { secret, ...(await totp.enrollment(secret, account.username)) };
  }

  async confirmTotp(account: IdentityRef, code: string): Promise<string[]> {
    const current = await this.deps.credentials.totp(account.id);
    if (current === undefined) {
      throw new DomainError(
        "failed_precondition",
        "mfa_enrollment_not_started",
        "start TOTP enrolment first",
      );
    }
    if (current.confirmed) {
      throw new DomainError(
        "failed_precondition",
        "mfa_already_enabled",
        "MFA is already on for this account",
      );
    }
    if (!(await this.verifyTotp(account.id, current.secretSealed, code))) {
      throw new DomainError("invalid_argument", "invalid_totp_code", "the code is not valid", {
        violations: [{ field: "code", description: "not the current code of the enrolled secret" }],
      });
    }
    const codes = this.newRecoveryCodes();
    await this.deps.credentials.confirmTotp(
      account.id,
      codes.map((recoveryCode) => this.recoveryCodeHash(account.id, recoveryCode)),
    );
    return codes;
  }

  async verifySecondFactor(account: IdentityRef, answer: MfaAnswer): Promise<boolean> {
    const totp = await this.deps.credentials.totp(account.id);
    if (totp === undefined || !totp.confirmed) return false;
    if ("totpCode" in answer) return this.verifyTotp(account.id, totp.secretSealed, answer.totpCode);
    return this.deps.credentials.consumeRecoveryCode(
      account.id,
      this.recoveryCodeHash(account.id, answer.recoveryCode),
    );
  }

  async disableTotp(account: IdentityRef): Promise<void> {
    await this.deps.credentials.removeTotp(account.id);
  }

  async regenerateRecoveryCodes(account: IdentityRef): Promise<string[]> {
    const current = await this.deps.credentials.totp(account.id);
    if (current === undefined || !current.confirmed) {
      throw new DomainError("failed_precondition", "mfa_not_enabled", "MFA is not on for this account");
    }
    const codes = this.newRecoveryCodes();
    await this.deps.credentials.replaceRecoveryCodes(
      account.id,
      codes.map((recoveryCode) => this.recoveryCodeHash(account.id, recoveryCode)),
    );
    return codes;
  }

  private newRecoveryCodes(): string[] {
    return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
      const chars = Array.from({ length: 10 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]);
      return `${chars.slice(0, 5).join("")}-${chars.slice(5).join("")}`;
    });
  }

  /** Keyed (HMAC): 50-bit codes would not survive a fast unkeyed hash if the table leaked. */
  private recoveryCodeHash(userId: string, code: string): string {
    return this.deps.recoveryCodeSealer.mac(`${userId}:${normalizeRecoveryCode(code)}`);
  }
}

const toSessionInfo = (session: SessionRecord): SessionInfo => ({
  id: session.id,
  userId: session.userId,
  clientId: session.clientId,
  ipAddress: session.ipAddress,
  userAgent: session.userAgent,
  startedAt: session.createdAt,
  lastUsedAt: session.lastUsedAt,
  lastSeenIpAddress: session.lastSeenIpAddress,
  lastSeenUserAgent: session.lastSeenUserAgent,
  lastSeenAt: session.lastSeenAt,
  expiresAt: session.expiresAt,
  offline: session.offline,
  revokedAt: session.revokedAt,
});
