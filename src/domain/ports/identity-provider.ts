import type { AccessTokenVerifier } from "../tokens/access-token.ts";

/** The account a provider call is about: Gatehouse's id plus what a remote provider keys on. */
export interface IdentityRef {
  readonly id: string;
  /** The provider's own id for the user (Keycloak's); empty for the built-in provider. */
  readonly externalId: string;
  readonly username: string;
  readonly email: string;
}

/** Who is signing in or refreshing, for the session record. */
export interface ClientInfo {
  readonly ip: string;
  readonly userAgent: string;
  /** The OAuth client the tokens are for. */
  readonly clientId: string;
}

export interface IssuedTokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  /** Empty for client-credentials tokens. */
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date | undefined;
  /** The `sid`; empty for client-credentials tokens. */
  readonly sessionId: string;
  readonly scope: string;
}

/** The outcome of checking a password (and, when given, a TOTP code). */
export type PasswordCheck =
  | {
      readonly ok: true;
      readonly userId: string;
      /** "required": MFA is on and no code was given; "verified": a valid code was given. */
      readonly mfa: "not_enrolled" | "required" | "verified";
    }
  | {
      readonly ok: false;
      /** Known when the account exists (to count the failure against it). */
      readonly userId: string | undefined;
      readonly reason: "invalid_credentials" | "invalid_otp";
    };

export interface MfaChallenge {
  readonly mfaToken: string;
  readonly expiresAt: Date;
  /** "totp", "recovery_code", "passkey". */
  readonly methods: readonly string[];
}

export type MfaAnswer = { readonly totpCode: string } | { readonly recoveryCode: string };

export type MfaCheck =
  | { readonly ok: true; readonly userId: string; readonly method: "otp" | "recovery_code" }
  | {
      readonly ok: false;
      readonly userId: string | undefined;
      readonly reason: "invalid_mfa_token" | "invalid_otp" | "invalid_recovery_code";
    };

export type RefreshResult =
  | { readonly ok: true; readonly tokens: IssuedTokens; readonly userId: string }
  | {
      readonly ok: false;
      /** refresh_token_reused: presented again after the grace window; the session has been revoked. */
      readonly reason:
        | "invalid_refresh_token"
        | "refresh_token_expired"
        | "session_ended"
        | "refresh_token_reused";
      /** Known when the token was found, for the audit log. */
      readonly userId: string | undefined;
      readonly sessionId: string | undefined;
    };

export interface SessionInfo {
  readonly id: string;
  readonly userId: string;
  readonly clientId: string;
  /** Where the session started: the sign-in's client address and user agent. */
  readonly ipAddress: string;
  readonly userAgent: string;
  readonly startedAt: Date;
  /** When tokens were last issued from the session (a refresh, or a token vault mint). */
  readonly lastUsedAt: Date;
  /** Where and when the user was last seen on it: the sign-in or their latest refresh, never a vault mint. */
  readonly lastSeenIpAddress: string;
  readonly lastSeenUserAgent: string;
  readonly lastSeenAt: Date;
  readonly expiresAt: Date;
  readonly offline: boolean;
  /** Set once the session has ended. */
  readonly revokedAt: Date | undefined;
}

export interface TotpEnrollment {
  /** Base32, for manual entry. */
  readonly secret: string;
  readonly otpauthUri: string;
  readonly qrCodePng: Uint8Array;
}

/** The identity fields a provider stores (Gatehouse keeps the rest locally). */
export interface IdentityFields {
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly firstName: string;
  readonly lastName: string;
  readonly enabled: boolean;
  /**
   * Gatehouse's own profile metadata (phone, title, links…; absent fields
   * unchanged). The built-in provider ignores it; Keycloak mirrors it in user
   * attributes.
   */
  readonly metadata?: ProfileMetadata;
}

/**
 * The profile fields besides the names, as a provider mirrors them (the users
 * module's ProfileChanges without first and last name; declared here so that
 * the port depends on no domain area).
 */
export interface ProfileMetadata {
  readonly middleName?: string;
  readonly phone?: string;
  readonly telegram?: string;
  readonly organization?: string;
  readonly department?: string;
  readonly title?: string;
  readonly links?: readonly { readonly label: string; readonly url: string }[];
}

/**
 * Everything that differs between identity providers: checking credentials,
 * sessions and their tokens, verifying access tokens, client-credentials
 * tokens, and the provider's copy of users and their credentials. Domain
 * services and RPC handlers use only this interface and never know which
 * provider runs (IDENTITY_PROVIDER=local | keycloak).
 *
 * Failures are DomainErrors. A provider that cannot do something (e.g. TOTP
 * enrolment under Keycloak) throws failed_precondition; an unreachable
 * provider throws unavailable.
 */
export interface IdentityProvider extends AccessTokenVerifier {
  readonly kind: "local" | "keycloak";

  // --- Signing in and sessions ---

  /**
   * Checks a password, and the TOTP code when one is given. Never issues
   * tokens: the caller checks the account's state first, then calls
   * startSession or createMfaChallenge. `account` is the local record found
   * for `login`, if any. Takes similar time whether or not the account exists.
   */
  checkPassword(input: {
    readonly account: IdentityRef | undefined;
    readonly login: string;
    readonly password: string;
    readonly totpCode: string | undefined;
  }): Promise<PasswordCheck>;
  /** A short-lived, single-use token proving the password was right; answered with answerMfaChallenge. */
  createMfaChallenge(account: IdentityRef): Promise<MfaChallenge>;
  /** Checks the second factor. The challenge ends on success, and after a few wrong answers. */
  answerMfaChallenge(mfaToken: string, answer: MfaAnswer): Promise<MfaCheck>;
  /**
   * For a second factor the domain verifies itself (a passkey): the user a
   * live challenge is for, without using it up. Absent where the provider
   * owns its factors (Keycloak).
   */
  mfaChallengeUser?(mfaToken: string): Promise<string | undefined>;
  /**
   * Ends a challenge answered by such a factor, named by its token's hash (hashOpaqueToken: the
   * ceremony in between keeps no token); false when it was used or expired (single use, across replicas).
   */
  settleMfaChallenge?(mfaTokenHash: string): Promise<boolean>;
  /** Opens a session and issues its first tokens. `authMethods` are RFC 8176 values ("pwd", "otp", "hwk", "swk", "mfa", "user"). */
  startSession(
    account: IdentityRef,
    client: ClientInfo,
    authMethods: readonly string[],
  ): Promise<IssuedTokens>;
  /**
   * Rotates a refresh token. A concurrent refresh with the same token within
   * the grace window gets the same new pair; reuse of a rotated token after
   * it ends the whole session.
   */
  refresh(refreshToken: string, client: ClientInfo): Promise<RefreshResult>;
  /**
   * Ends a session (by refresh token, or by id): its refresh token stops
   * working and its access tokens are rejected at once. Undefined when there
   * was no such live session (logout is idempotent). By id with
   * `includeOffline`, a provider that keeps a sign-in's offline session under
   * the same id (Keycloak) ends that too; a logout leaves it.
   */
  endSession(
    session:
      | { readonly refreshToken: string }
      | { readonly sessionId: string; readonly includeOffline?: boolean },
    reason: string,
  ): Promise<{ readonly sessionId: string; readonly userId: string } | undefined>;
  /**
   * Ends every session of the user but `exceptSessionId`, and refuses their
   * access tokens at once; returns how many ended. Offline sessions end too
   * unless `includeOffline` is false.
   */
  endUserSessions(
    userId: string,
    reason: string,
    options?: { readonly exceptSessionId?: string; readonly includeOffline?: boolean },
  ): Promise<number>;
  getSession(sessionId: string): Promise<SessionInfo | undefined>;
  /** The user's live sessions, newest first. */
  listSessions(userId: string): Promise<SessionInfo[]>;
  /**
   * Client credentials where the provider holds the clients' secrets
   * (Keycloak): checks the secret, and issues a token to the Gatehouse service
   * account registered with that client id. Absent for the built-in provider,
   * where Gatehouse checks the secret and calls issueServiceAccountToken.
   * Throws unauthenticated (invalid_client).
   */
  clientCredentialsGrant?(
    clientId: string,
    clientSecret: string,
    scope: string,
  ): Promise<IssuedTokens & { readonly serviceAccountId: string }>;
  /** Issues an access token to a service account whose secret has been checked. */
  issueServiceAccountToken(account: {
    readonly id: string;
    readonly clientId: string;
  }): Promise<IssuedTokens>;

  // --- Users and credentials ---

  /** Creates the provider's copy of a new user; returns its external id ("" for the built-in provider). */
  createUser(userId: string, fields: IdentityFields): Promise<{ readonly externalId: string }>;
  updateUser(account: IdentityRef, fields: Partial<IdentityFields>): Promise<void>;
  deleteUser(account: IdentityRef): Promise<void>;
  /** The caller has checked the password policy. */
  setPassword(account: IdentityRef, password: string): Promise<void>;
  verifyPassword(account: IdentityRef, password: string): Promise<boolean>;
  /** Starts (or restarts) TOTP enrolment; MFA is not on until confirmTotp. */
  enrollTotp(account: IdentityRef): Promise<TotpEnrollment>;
  /** Turns MFA on with a first code; returns single-use recovery codes. Throws invalid_argument on a wrong code. */
  confirmTotp(account: IdentityRef, code: string): Promise<string[]>;
  /**
   * Checks a second factor outside sign-in (before MFA is turned off): a
   * current TOTP code (single use, like at sign-in) or an unused recovery
   * code, which this uses up. False when wrong or MFA is not on.
   */
  verifySecondFactor(account: IdentityRef, answer: MfaAnswer): Promise<boolean>;
  disableTotp(account: IdentityRef): Promise<void>;
  regenerateRecoveryCodes(account: IdentityRef): Promise<string[]>;
  /**
   * Where the provider mails account actions itself (Keycloak's
   * execute-actions email: UPDATE_PASSWORD, VERIFY_EMAIL): hands that mail
   * over and resolves without waiting for it, like Mailer.send (failures are
   * logged). Absent for the built-in provider, where Gatehouse sends its own
   * single-use links.
   */
  sendAccountActionEmail?(
    account: IdentityRef,
    purpose: "password_reset" | "email_verification",
  ): Promise<void>;

  /**
   * Throws unavailable while the provider cannot be reached (one round
   * trip). For calls that must not answer success for work the provider
   * would silently drop, whoever the account (ForgotPassword). Absent for
   * the built-in provider.
   */
  ensureReachable?(): Promise<void>;

  /** Stops timers; the data source and stores are closed by their owner. */
  close(): Promise<void>;
}
