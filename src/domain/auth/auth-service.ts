import type { Actor, Requester } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { hashOpaqueToken, newOpaqueToken } from "../opaque-token.ts";
import { passkeyMethod } from "../passkeys/passkey.ts";
import {
  type CeremonyStart,
  type PasskeyAssertions,
  PasskeySignInFailure,
} from "../passkeys/passkey-assertions.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type {
  ClientInfo,
  IdentityProvider,
  IssuedTokens,
  MfaAnswer,
  MfaChallenge,
} from "../ports/identity-provider.ts";
import type { Mailer } from "../ports/mailer.ts";
import type { Principal } from "../principal.ts";
import { USER_ROLE } from "../roles/permissions.ts";
import type { ServiceAccountService } from "../service-accounts/service-account-service.ts";
import type { AccountFactory } from "../users/account-factory.ts";
import { identityRef } from "../users/identity-ref.ts";
import type { PasswordPolicy } from "../users/password-policy.ts";
import type { User } from "../users/user.ts";
import type { UserRepository, UserTokenRepository } from "../users/user-repository.ts";
import { requireUserPrincipal } from "../users/user-service.ts";
import { emailVerificationMail, invitationMail, passwordResetMail } from "./emails.ts";
import { type SignInThrottle, throttled } from "./sign-in-throttle.ts";

/** An unauthenticated call's origin: for sessions, rate limits and the audit log. */
export interface RequestInfo extends Requester {
  readonly userAgent: string;
}

export interface AuthSettings {
  readonly signupEnabled: boolean;
  readonly emailVerificationRequired: boolean;
  readonly resetTokenTtlSeconds: number;
  readonly emailVerificationTtlSeconds: number;
  readonly passwordResetUrl: string;
  readonly emailVerificationUrl: string;
  /** The client id recorded for sessions opened through Login (the token audience). */
  readonly clientId: string;
}

export interface AuthServiceDeps {
  readonly settings: AuthSettings;
  readonly users: UserRepository;
  readonly userTokens: UserTokenRepository;
  readonly accounts: AccountFactory;
  readonly provider: IdentityProvider;
  readonly serviceAccounts: ServiceAccountService;
  /** Lockout and throttling of failed sign-ins (see SignInThrottle). */
  readonly throttle: SignInThrottle;
  readonly passwordPolicy: PasswordPolicy;
  readonly mailer: Mailer;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
  /** Passkey sign-in ceremonies; absent: passkeys are off (FAILED_PRECONDITION passkeys_disabled). */
  readonly passkeys?: PasskeyAssertions;
  readonly now?: () => number;
  /** Waits; injectable so that tests need not. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface SignUpInput {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly firstName: string;
  readonly middleName: string;
  readonly lastName: string;
  readonly phone: string;
}

export type LoginResult = { readonly tokens: IssuedTokens } | { readonly mfaChallenge: MfaChallenge };

/**
 * ForgotPassword answers no sooner than this, whether or not the account
 * exists, so that its timing says nothing (the mail itself goes out in the
 * background).
 */
const FORGOT_PASSWORD_MIN_MS = 250;

/** How long an invitation's set-password link works (longer than a reset: the person may be away). */
export const INVITATION_TTL_SECONDS = 72 * 3600;

const unauthenticated = (reason: string, message: string) =>
  new DomainError("unauthenticated", reason, message);

const LOGIN_FAILURES: Record<string, string> = {
  invalid_credentials: "the username or password is wrong",
  invalid_otp: "the one-time code is wrong",
  invalid_mfa_token: "the MFA challenge is unknown, used or expired; sign in again",
  invalid_recovery_code: "the recovery code is wrong or was used already",
};

const REFRESH_FAILURES: Record<string, string> = {
  invalid_refresh_token: "the refresh token is not valid",
  refresh_token_expired: "the refresh token has expired; sign in again",
  session_ended: "the session has ended; sign in again",
  refresh_token_reused: "the refresh token was already used; the session has been ended for safety",
};

/**
 * Authentication: sign-up, sign-in with MFA and lockout, token refresh,
 * logout, password recovery, client credentials, and the signed-in user's
 * password and MFA. Everything goes through the IdentityProvider interface,
 * and every event is audited.
 */
export class AuthService {
  private readonly deps: AuthServiceDeps;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(deps: AuthServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private client(request: RequestInfo): ClientInfo {
    return { ip: request.ip, userAgent: request.userAgent, clientId: this.deps.settings.clientId };
  }

  signUp(
    input: SignUpInput,
    request: RequestInfo,
  ): Promise<{ user: User; emailVerificationRequired: boolean }> {
    const { settings } = this.deps;
    return this.deps.audit.track(
      { action: "auth.signup", actor: request, targetKind: "user" },
      async (note) => {
        if (!settings.signupEnabled) {
          throw new DomainError(
            "failed_precondition",
            "signup_disabled",
            "sign-up is disabled on this server",
          );
        }
        this.deps.passwordPolicy.check(input.password, input, "password");
        const user = await this.deps.accounts.create({
          username: input.username,
          email: input.email,
          emailVerified: false,
          password: input.password,
          profile: {
            firstName: input.firstName,
            middleName: input.middleName,
            lastName: input.lastName,
            phone: input.phone,
          },
          roles: [USER_ROLE],
        });
        note.actor(user.id);
        note.target("user", user.id);
        if (settings.emailVerificationRequired) await this.sendVerificationMail(user);
        return { user, emailVerificationRequired: settings.emailVerificationRequired };
      },
    );
  }

  private async sendVerificationMail(user: User): Promise<void> {
    const { settings } = this.deps;
    if (this.deps.provider.sendAccountActionEmail) {
      // The provider verifies the address itself (Keycloak's VERIFY_EMAIL action).
      await this.deps.provider.sendAccountActionEmail(identityRef(user), "email_verification");
      return;
    }
    const token = newOpaqueToken();
    await this.deps.userTokens.issue(
      user.id,
      "email_verification",
      hashOpaqueToken(token),
      new Date(this.now() + settings.emailVerificationTtlSeconds * 1000),
    );
    await this.deps.mailer.send(
      emailVerificationMail({
        to: user.email,
        userId: user.id,
        verifyUrl: settings.emailVerificationUrl,
        token,
        ttlMinutes: Math.round(settings.emailVerificationTtlSeconds / 60),
      }),
    );
  }

  verifyEmail(token: string, request: RequestInfo): Promise<void> {
    return this.deps.audit.track({ action: "auth.verify_email", actor: request }, async (note) => {
      const userId = await this.deps.userTokens.consume("email_verification", hashOpaqueToken(token));
      if (userId === undefined) throw invalidToken("the verification token is unknown, used or expired");
      note.actor(userId);
      note.target("user", userId);
      const user = await this.deps.users.getUser(userId);
      if (user === undefined) throw invalidToken("the verification token is unknown, used or expired");
      await this.deps.provider.updateUser(identityRef(user), { emailVerified: true });
      await this.deps.users.update(userId, { emailVerified: true });
      await this.deps.changes.subjectChanged(userId);
    });
  }

  login(
    input: { login: string; password: string; totpCode: string | undefined },
    request: RequestInfo,
  ): Promise<LoginResult> {
    return this.deps.audit.track({ action: "auth.login", actor: request }, async (note) => {
      const account = await this.deps.users.findByLogin(input.login);
      if (account !== undefined) {
        note.actor(account.id);
        note.target("user", account.id);
      }
      // The same answers whether or not the login names an account: the throttle keys both alike.
      const attempt = { userId: account?.id, login: input.login, ip: request.ip };
      const admission = await this.deps.throttle.admit({ ...attempt, lockedUntil: account?.lockedUntil });
      if (admission.kind === "mfa_only" && input.totpCode === undefined) {
        // No password check: a challenge (or a different answer) would tell a right password.
        throw throttled("account", admission.retryAfterMs);
      }
      const check = await this.deps.provider.checkPassword({
        account: account === undefined ? undefined : identityRef(account),
        login: input.login,
        password: input.password,
        totpCode: input.totpCode,
      });
      if (!check.ok || (admission.kind === "mfa_only" && check.mfa !== "verified")) {
        await this.countFailure({ ...attempt, userId: account?.id ?? check.userId }, request);
        if (admission.kind === "mfa_only") throw throttled("account", admission.retryAfterMs);
        throw check.ok
          ? unauthenticated("invalid_credentials", LOGIN_FAILURES.invalid_credentials!)
          : unauthenticated(check.reason, LOGIN_FAILURES[check.reason]!);
      }
      const user = account?.id === check.userId ? account : await this.deps.users.getUser(check.userId);
      if (user === undefined)
        throw unauthenticated("invalid_credentials", LOGIN_FAILURES.invalid_credentials!);
      this.requireMaySignIn(user);
      // A passkey is a second factor too: a user who has one is asked for it, with or without TOTP.
      const passkeyFactor =
        check.mfa !== "verified" && (await this.deps.passkeys?.hasPasskeys(user.id)) === true;
      if (check.mfa === "required" || passkeyFactor) {
        note.detail("mfa", "challenge");
        const challenge = await this.deps.provider.createMfaChallenge(identityRef(user));
        const methods = [
          ...(check.mfa === "required" ? challenge.methods : []),
          ...(passkeyFactor ? ["passkey"] : []),
        ];
        return { mfaChallenge: { ...challenge, methods } };
      }
      const methods = check.mfa === "verified" ? ["pwd", "otp"] : ["pwd"];
      const tokens = await this.openSession(user, request, methods);
      note.target("session", tokens.sessionId);
      return { tokens };
    });
  }

  verifyMfa(input: { mfaToken: string; answer: MfaAnswer }, request: RequestInfo): Promise<IssuedTokens> {
    return this.deps.audit.track({ action: "auth.verify_mfa", actor: request }, async (note) => {
      note.detail("method", "totpCode" in input.answer ? "totp" : "recovery_code");
      const check = await this.deps.provider.answerMfaChallenge(input.mfaToken, input.answer);
      if (check.userId !== undefined) note.actor(check.userId);
      if (!check.ok) {
        if (check.userId !== undefined && check.reason !== "invalid_mfa_token") {
          await this.countFailure({ userId: check.userId, login: "", ip: request.ip }, request);
        }
        throw unauthenticated(check.reason, LOGIN_FAILURES[check.reason]!);
      }
      const user = await this.deps.users.getUser(check.userId);
      if (user === undefined) throw unauthenticated("invalid_mfa_token", LOGIN_FAILURES.invalid_mfa_token!);
      // No lockout check: the challenge was given to a source admitted with the right password,
      // and a right second factor is what gets the owner past a stranger's failures.
      this.requireMaySignIn(user);
      const tokens = await this.openSession(user, request, ["pwd", check.method === "otp" ? "otp" : "mfa"]);
      note.target("session", tokens.sessionId);
      return tokens;
    });
  }

  /** Whether passkey sign-in is served here (the hosted pages show their passkey button only then). */
  get passkeysAvailable(): boolean {
    return this.deps.passkeys?.available === true;
  }

  private requirePasskeys(): PasskeyAssertions {
    if (this.deps.passkeys === undefined) {
      throw new DomainError(
        "failed_precondition",
        "passkeys_disabled",
        "passkeys are disabled on this server",
      );
    }
    this.deps.passkeys.requireAvailable();
    return this.deps.passkeys;
  }

  /**
   * Starts a passkey sign-in: passwordless without `mfaToken` (discoverable
   * credentials, user verification required), or the second factor for the
   * Login challenge `mfaToken` (the user's own passkeys allowed). Finish it
   * with finishPasskeySignIn.
   */
  async beginPasskeySignIn(
    input: { readonly mfaToken: string },
    _request: RequestInfo,
  ): Promise<CeremonyStart> {
    const passkeys = this.requirePasskeys();
    if (input.mfaToken === "") return passkeys.begin(undefined);
    const userId = await this.deps.provider.mfaChallengeUser?.(input.mfaToken);
    if (userId === undefined) throw unauthenticated("invalid_mfa_token", LOGIN_FAILURES.invalid_mfa_token!);
    return passkeys.begin({ token: input.mfaToken, userId });
  }

  /**
   * Verifies a passkey sign-in's answer and opens the session, as Login and
   * VerifyMfa do (disabled accounts refused, last sign-in recorded). amr: the
   * passkey's "hwk"/"swk" with "user" when passwordless, or "pwd", it and
   * "mfa" as the second factor. Failures count towards the sign-in throttle.
   */
  finishPasskeySignIn(
    input: { readonly ceremonyId: string; readonly credentialJson: string },
    request: RequestInfo,
  ): Promise<IssuedTokens> {
    return this.deps.audit.track({ action: "passkey.sign_in", actor: request }, async (note) => {
      const passkeys = this.requirePasskeys();
      let assertion: Awaited<ReturnType<PasskeyAssertions["finish"]>>;
      try {
        assertion = await passkeys.finish(input.ceremonyId, input.credentialJson);
      } catch (error) {
        if (error instanceof PasskeySignInFailure) {
          if (error.userId !== undefined) {
            note.actor(error.userId);
            note.target("user", error.userId);
          }
          if (error.passkeyId !== undefined) note.detail("passkey_id", error.passkeyId);
          await this.countFailure({ userId: error.userId, login: "", ip: request.ip }, request);
        }
        throw error;
      }
      const { passkey } = assertion;
      const mfa = assertion.mfaTokenHash !== undefined;
      note.actor(passkey.userId);
      note.target("user", passkey.userId);
      note.detail("passkey_id", passkey.id);
      note.detail("mode", mfa ? "mfa" : "passwordless");
      const user = await this.deps.users.getUser(passkey.userId);
      if (user === undefined)
        throw unauthenticated("unknown_credential", "this passkey is not registered here");
      // A source that must wait still waits; an account lock does not stop a passkey (it is no guess).
      await this.deps.throttle.admit({ userId: user.id, login: "", ip: request.ip, lockedUntil: undefined });
      this.requireMaySignIn(user);
      if (mfa && !(await this.deps.provider.settleMfaChallenge?.(assertion.mfaTokenHash!))) {
        throw unauthenticated("invalid_mfa_token", LOGIN_FAILURES.invalid_mfa_token!);
      }
      const method = passkeyMethod(passkey);
      const tokens = await this.openSession(user, request, mfa ? ["pwd", method, "mfa"] : [method, "user"]);
      note.target("session", tokens.sessionId);
      return tokens;
    });
  }

  private async openSession(user: User, request: RequestInfo, methods: string[]): Promise<IssuedTokens> {
    const tokens = await this.deps.provider.startSession(identityRef(user), this.client(request), methods);
    await this.deps.users.recordSignIn(user.id);
    await this.deps.throttle.succeeded({ userId: user.id, ip: request.ip });
    return tokens;
  }

  private requireMaySignIn(user: User): void {
    if (user.status === "disabled") {
      throw new DomainError("permission_denied", "account_disabled", "the account is disabled");
    }
    if (this.deps.settings.emailVerificationRequired && !user.emailVerified) {
      throw new DomainError(
        "permission_denied",
        "email_not_verified",
        "confirm your email address first (see the mail sent at sign-up)",
      );
    }
  }

  /** Counts a failed sign-in against the source and the account; a lockout is audited. */
  private async countFailure(
    attempt: { userId: string | undefined; login: string; ip: string },
    request: Requester,
  ): Promise<void> {
    const { lockedUntil } = await this.deps.throttle.failed(attempt);
    const userId = attempt.userId;
    if (lockedUntil !== undefined && userId !== undefined) {
      await this.deps.audit.record({
        action: "auth.lockout",
        result: "success",
        actor: request,
        actorId: userId,
        targetKind: "user",
        targetId: userId,
        details: { locked_until: lockedUntil.toISOString() },
      });
      await this.deps.changes.subjectChanged(userId);
    }
  }

  refresh(refreshToken: string, request: RequestInfo): Promise<IssuedTokens> {
    return this.deps.audit.track({ action: "auth.refresh", actor: request }, async (note) => {
      const result = await this.deps.provider.refresh(refreshToken, this.client(request));
      if (!result.ok) {
        if (result.userId !== undefined) note.actor(result.userId);
        if (result.sessionId !== undefined) note.target("session", result.sessionId);
        throw unauthenticated(result.reason, REFRESH_FAILURES[result.reason]!);
      }
      note.actor(result.userId);
      note.target("session", result.tokens.sessionId);
      return result.tokens;
    });
  }

  /**
   * Ends the session of the refresh token, or else of the bearer access
   * token. Idempotent: an unknown or ended session is not an error.
   */
  logout(
    input: { refreshToken: string; principal: () => Promise<Principal> },
    request: RequestInfo,
  ): Promise<void> {
    return this.deps.audit.track({ action: "auth.logout", actor: request }, async (note) => {
      let ended: { sessionId: string; userId: string } | undefined;
      if (input.refreshToken !== "") {
        ended = await this.deps.provider.endSession({ refreshToken: input.refreshToken }, "logout");
      } else {
        const principal = await input.principal();
        if (principal.kind !== "user") {
          throw new DomainError(
            "invalid_argument",
            "no_session",
            "service-account tokens have no session to end",
          );
        }
        note.actor(principal.subjectId);
        ended = await this.deps.provider.endSession({ sessionId: principal.sessionId }, "logout");
      }
      if (ended !== undefined) {
        note.actor(ended.userId);
        note.target("session", ended.sessionId);
      }
    });
  }

  /**
   * Ends every online session of the signed-in user, theirs included (and
   * offline ones when asked), leaving the account and its password as they
   * are. Returns how many ended; idempotent.
   */
  logoutEverywhere(caller: Actor, input: { includeOffline: boolean }): Promise<number> {
    return this.deps.audit.track(
      { action: "auth.logout_everywhere", actor: caller, targetKind: "user" },
      async (note) => {
        const userId = requireUserPrincipal(caller);
        note.target("user", userId);
        note.detail("include_offline", String(input.includeOffline));
        const ended = await this.deps.provider.endUserSessions(userId, "logout_everywhere", {
          includeOffline: input.includeOffline,
        });
        note.detail("sessions_ended", String(ended));
        return ended;
      },
    );
  }

  forgotPassword(email: string, request: RequestInfo): Promise<void> {
    const started = this.now();
    const { settings } = this.deps;
    return this.deps.audit.track({ action: "auth.password_forgot", actor: request }, async (note) => {
      try {
        // Asked for every address alike, so UNAVAILABLE says nothing about the account.
        await this.deps.provider.ensureReachable?.();
        const user = await this.deps.users.findByEmail(email);
        if (user !== undefined && user.status !== "disabled" && this.deps.provider.sendAccountActionEmail) {
          // The provider mails its own reset link (Keycloak's UPDATE_PASSWORD action).
          note.target("user", user.id);
          await this.deps.provider.sendAccountActionEmail(identityRef(user), "password_reset");
        } else if (user !== undefined && user.status !== "disabled") {
          note.target("user", user.id);
          const token = newOpaqueToken();
          await this.deps.userTokens.issue(
            user.id,
            "password_reset",
            hashOpaqueToken(token),
            new Date(this.now() + settings.resetTokenTtlSeconds * 1000),
          );
          await this.deps.mailer.send(
            passwordResetMail({
              to: user.email,
              userId: user.id,
              resetUrl: settings.passwordResetUrl,
              token,
              ttlMinutes: Math.round(settings.resetTokenTtlSeconds / 60),
            }),
          );
        }
      } finally {
        await this.sleep(Math.max(0, started + FORGOT_PASSWORD_MIN_MS - this.now()));
      }
    });
  }

  /**
   * Mails a new account without a password a link to choose one: a reset token
   * (ResetPassword spends it, as for a forgotten password), or under a provider
   * that mails its own links (Keycloak), its UPDATE_PASSWORD action.
   */
  async invite(user: User): Promise<void> {
    if (this.deps.provider.sendAccountActionEmail) {
      await this.deps.provider.sendAccountActionEmail(identityRef(user), "password_reset");
      return;
    }
    const token = newOpaqueToken();
    await this.deps.userTokens.issue(
      user.id,
      "password_reset",
      hashOpaqueToken(token),
      new Date(this.now() + INVITATION_TTL_SECONDS * 1000),
    );
    await this.deps.mailer.send(
      invitationMail({
        to: user.email,
        userId: user.id,
        resetUrl: this.deps.settings.passwordResetUrl,
        token,
        ttlHours: INVITATION_TTL_SECONDS / 3600,
      }),
    );
  }

  resetPassword(input: { resetToken: string; newPassword: string }, request: RequestInfo): Promise<void> {
    return this.deps.audit.track({ action: "auth.password_reset", actor: request }, async (note) => {
      const tokenHash = hashOpaqueToken(input.resetToken);
      const userId = await this.deps.userTokens.find("password_reset", tokenHash);
      const user = userId === undefined ? undefined : await this.deps.users.getUser(userId);
      if (user === undefined)
        throw invalidToken("the reset token is unknown, used or expired", "reset_token");
      note.actor(user.id);
      note.target("user", user.id);
      // The policy first, so that a rejected password does not use the token up.
      this.deps.passwordPolicy.check(input.newPassword, user, "new_password");
      if ((await this.deps.userTokens.consume("password_reset", tokenHash)) !== user.id) {
        throw invalidToken("the reset token is unknown, used or expired", "reset_token");
      }
      await this.deps.provider.setPassword(identityRef(user), input.newPassword);
      // Any other link mailed before is void: it was sent for the password just replaced.
      await this.deps.userTokens.voidAll(user.id, "password_reset");
      await this.deps.provider.endUserSessions(user.id, "password_reset");
      // The lockout message says to reset: the link proves the mailbox, so it lifts the lock.
      await this.deps.throttle.unlock({ userId: user.id, ip: request.ip });
      // The mail reached its owner: the address is verified.
      if (!user.emailVerified) {
        await this.deps.provider.updateUser(identityRef(user), { emailVerified: true });
        await this.deps.users.update(user.id, { emailVerified: true });
      }
      await this.deps.changes.subjectChanged(user.id);
    });
  }

  /**
   * The client-credentials grant. `scope` (space-separated) goes to a provider
   * that knows scopes (Keycloak); the built-in provider issues no scoped tokens
   * and refuses a scope rather than drop it.
   */
  clientCredentialsToken(
    input: { clientId: string; clientSecret: string; scope?: string },
    request: RequestInfo,
  ): Promise<IssuedTokens> {
    return this.deps.audit.track(
      { action: "auth.client_credentials", actor: request, details: { client_id: input.clientId } },
      async (note) => {
        const { provider } = this.deps;
        if (provider.clientCredentialsGrant !== undefined) {
          // The provider holds the client secrets (Keycloak).
          const issued = await provider.clientCredentialsGrant(
            input.clientId,
            input.clientSecret,
            input.scope ?? "",
          );
          note.actor(issued.serviceAccountId, "service_account");
          return issued;
        }
        if ((input.scope ?? "").trim() !== "") {
          throw new DomainError(
            "invalid_argument",
            "scope_not_supported",
            "the built-in provider issues no scoped tokens: leave scope empty",
            { violations: [{ field: "scope", description: "scopes are not supported by this provider" }] },
          );
        }
        const account = await this.deps.serviceAccounts.verify(input.clientId, input.clientSecret);
        note.actor(account.id, "service_account");
        return provider.issueServiceAccountToken(account);
      },
    );
  }

  // --- The signed-in user's credentials ---

  private async me(caller: Actor): Promise<User> {
    const user = await this.deps.users.getUser(requireUserPrincipal(caller));
    if (user === undefined) throw unauthenticated("unknown_subject", "the account no longer exists");
    return user;
  }

  /** Re-checks the password for a sensitive change; a wrong one counts towards the lockout. */
  async recheckPassword(user: User, password: string, caller: Actor): Promise<void> {
    // Throttled like a sign-in: a stolen session must not become an unlimited password oracle.
    const attempt = { userId: user.id, login: "", ip: caller.ip };
    const admission = await this.deps.throttle.admit({ ...attempt, lockedUntil: user.lockedUntil });
    if (admission.kind === "mfa_only") throw throttled("account", admission.retryAfterMs);
    if (!(await this.deps.provider.verifyPassword(identityRef(user), password))) {
      await this.countFailure({ userId: user.id, login: "", ip: caller.ip }, caller);
      throw unauthenticated("invalid_credentials", "the password is wrong");
    }
  }

  changePassword(caller: Actor, input: { currentPassword: string; newPassword: string }): Promise<void> {
    return this.deps.audit.track({ action: "auth.password_change", actor: caller }, async (note) => {
      const user = await this.me(caller);
      note.target("user", user.id);
      await this.recheckPassword(user, input.currentPassword, caller);
      this.deps.passwordPolicy.check(input.newPassword, user, "new_password");
      await this.deps.provider.setPassword(identityRef(user), input.newPassword);
      // A reset link mailed before would undo this change (e.g. one an attacker had asked for).
      await this.deps.userTokens.voidAll(user.id, "password_reset");
      const ended = await this.deps.provider.endUserSessions(user.id, "password_changed", {
        exceptSessionId: caller.principal.sessionId,
      });
      note.detail("other_sessions_ended", String(ended));
    });
  }

  enrollTotp(caller: Actor) {
    return this.deps.audit.track({ action: "auth.totp_enroll", actor: caller }, async (note) => {
      const user = await this.me(caller);
      note.target("user", user.id);
      return this.deps.provider.enrollTotp(identityRef(user));
    });
  }

  confirmTotp(caller: Actor, code: string): Promise<string[]> {
    return this.deps.audit.track({ action: "auth.totp_confirm", actor: caller }, async (note) => {
      const user = await this.me(caller);
      note.target("user", user.id);
      const codes = await this.deps.provider.confirmTotp(identityRef(user), code);
      await this.deps.changes.subjectChanged(user.id);
      return codes;
    });
  }

  /** Needs the password and a second factor: a stolen session that knows the password must not strip MFA. */
  disableTotp(caller: Actor, input: { password: string; answer: MfaAnswer }): Promise<void> {
    return this.deps.audit.track({ action: "auth.totp_disable", actor: caller }, async (note) => {
      const user = await this.me(caller);
      note.target("user", user.id);
      note.detail("method", "totpCode" in input.answer ? "totp" : "recovery_code");
      await this.recheckPassword(user, input.password, caller);
      if (!user.totpEnabled) {
        throw new DomainError("failed_precondition", "mfa_not_enabled", "MFA is not on for this account");
      }
      if (!(await this.deps.provider.verifySecondFactor(identityRef(user), input.answer))) {
        await this.countFailure({ userId: user.id, login: "", ip: caller.ip }, caller);
        throw "totpCode" in input.answer
          ? unauthenticated("invalid_otp", LOGIN_FAILURES.invalid_otp!)
          : unauthenticated("invalid_recovery_code", LOGIN_FAILURES.invalid_recovery_code!);
      }
      await this.deps.provider.disableTotp(identityRef(user));
      await this.deps.changes.subjectChanged(user.id);
    });
  }

  regenerateRecoveryCodes(caller: Actor, password: string): Promise<string[]> {
    return this.deps.audit.track(
      { action: "auth.recovery_codes_regenerate", actor: caller },
      async (note) => {
        const user = await this.me(caller);
        note.target("user", user.id);
        await this.recheckPassword(user, password, caller);
        return this.deps.provider.regenerateRecoveryCodes(identityRef(user));
      },
    );
  }
}

const invalidToken = (message: string, field = "token") =>
  new DomainError("invalid_argument", "invalid_token", message, {
    violations: [{ field, description: message }],
  });
