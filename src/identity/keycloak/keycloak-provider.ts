import { decodeJwt } from "jose";
import { DomainError, isDomainError } from "../../domain/errors.ts";
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
import type { RevocationStore } from "../../domain/revocation/revocation-store.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../../domain/tokens/access-token.ts";
import type { Logger } from "../../observability/logger.ts";
import type { KeycloakAdmin, KeycloakSession, KeycloakUser } from "./keycloak-admin.ts";
import type { KeycloakMfaChallenges } from "./keycloak-mfa-challenges.ts";
import { type KeycloakOidc, type KeycloakTokens, OAuthRejection } from "./keycloak-oidc.ts";
import { PendingSignIns } from "./pending-sign-ins.ts";
import type { SpentRefreshTokens } from "./spent-refresh-tokens.ts";

export interface KeycloakProviderSettings {
  /** The longest access-token lifetime the realm issues: how long a revoked session is remembered. */
  readonly maxTokenLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  /** The realm's SSO session idle and max lifespans, to report when a session expires. */
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  /** Lifespan of the links in Keycloak's action emails (password reset, verification). */
  readonly actionEmailLifespanSeconds: number;
  /** The realm's offline session idle timeout, to report when an offline session expires. */
  readonly offlineSessionIdleSeconds: number;
  /**
   * Realm clients whose sessions Gatehouse manages (KEYCLOAK_SESSION_CLIENTS): Logout accepts
   * their refresh and offline tokens, ListSessions lists their offline sessions.
   */
  readonly sessionClients: readonly string[];
}

/** What the provider needs of the user sync (src/domain/sync). */
export interface KeycloakUserLink {
  /** Local user of a Keycloak user, imported on first sight; throws unauthenticated if Keycloak has none. */
  localUserIdFor(externalId: string): Promise<string>;
  linkedUserIdFor(externalId: string): Promise<string | undefined>;
  externalIdOf(userId: string): Promise<string | undefined>;
  /** Refreshes the local record at sign-in; never throws when a local record exists. */
  syncOnLogin(externalId: string): Promise<{ userId: string; mfaEnabled: boolean | undefined }>;
  refreshFromKeycloak(externalId: string): Promise<void>;
}

export interface KeycloakProviderDeps {
  readonly oidc: KeycloakOidc;
  readonly admin: KeycloakAdmin;
  readonly verifier: AccessTokenVerifier;
  readonly users: KeycloakUserLink;
  /** The Gatehouse service account registered for a Keycloak client, read afresh. */
  readonly serviceAccountFor: (
    clientId: string,
  ) => Promise<{ readonly id: string; readonly disabled: boolean } | undefined>;
  readonly challenges: KeycloakMfaChallenges;
  readonly revocations: RevocationStore;
  /** Refresh tokens already spent: any later presentation is reuse. */
  readonly spentRefreshTokens: SpentRefreshTokens;
  /** sid → Keycloak user id, shared by replicas (to end or describe a session known only by id). */
  readonly sessionOwners: {
    set(sessionId: string, externalId: string, ttlMs: number): Promise<void>;
    get(sessionId: string): Promise<string | undefined>;
  };
  readonly settings: KeycloakProviderSettings;
  readonly logger: Logger;
  readonly now?: () => number;
}

const invalidClient = () =>
  new DomainError("unauthenticated", "invalid_client", "the client id or client secret is wrong");

/** Keycloak refused Gatehouse's own client (wrong secret, grant not enabled): a deployment fault. */
const clientRefused = (rejection: OAuthRejection) =>
  new DomainError("internal", "keycloak_client_misconfigured", "Keycloak refused Gatehouse's client", {
    cause: rejection,
  });

const keycloakOwnsTotp = (message: string) =>
  new DomainError("failed_precondition", "totp_managed_by_keycloak", message);

/**
 * The IdentityProvider for IDENTITY_PROVIDER=keycloak: Keycloak checks
 * credentials, owns sessions and issues tokens; Gatehouse keeps its local
 * user records in step (src/domain/sync) and its own revocation state, so
 * that a logout rejects the session's access tokens at once everywhere.
 *
 * Where Keycloak cannot do what the contract describes, this says so:
 * - Keycloak's direct grant checks password and TOTP code in one step, and
 *   answers both failures alike. For a user with OTP who gives no code, the
 *   password cannot be checked on its own: Login answers with an MFA
 *   challenge, and VerifyMfa checks password and code together.
 * - TOTP enrolment is Keycloak's CONFIGURE_TOTP required action (an email is
 *   sent); there are no recovery codes.
 * - Service accounts authenticate with their Keycloak client secret.
 */
export class KeycloakIdentityProvider implements IdentityProvider {
  readonly kind = "keycloak" as const;
  private readonly deps: KeycloakProviderDeps;
  private readonly now: () => number;
  private readonly pending: PendingSignIns;

  constructor(deps: KeycloakProviderDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.pending = new PendingSignIns((tokens) => {
      // The caller refused the sign-in after the password check (disabled, locked…): end Keycloak's session.
      this.deps.oidc.logout(tokens.refreshToken).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "keycloak: ending an unused session failed");
      });
    }, this.now);
  }

  async close(): Promise<void> {
    this.pending.close();
  }

  ensureReachable(): Promise<void> {
    return this.deps.oidc.ping();
  }

  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    return this.deps.verifier.verifyAccessToken(token);
  }

  // --- Signing in ---

  async checkPassword(input: {
    account: IdentityRef | undefined;
    login: string;
    password: string;
    totpCode: string | undefined;
  }): Promise<PasswordCheck> {
    let tokens: KeycloakTokens;
    try {
      tokens = await this.deps.oidc.passwordGrant(input.login, input.password, input.totpCode);
    } catch (error) {
      if (!(error instanceof OAuthRejection)) throw error;
      return this.rejectedSignIn(error, input);
    }
    const signedIn = await this.signedIn(tokens);
    const mfa = input.totpCode !== undefined && signedIn.mfaEnabled !== false ? "verified" : "not_enrolled";
    return { ok: true, userId: signedIn.userId, mfa };
  }

  /** A grant Keycloak refused: wrong credentials, a user with OTP and no code, or a disabled account. */
  private async rejectedSignIn(
    rejection: OAuthRejection,
    input: {
      account: IdentityRef | undefined;
      login: string;
      password: string;
      totpCode: string | undefined;
    },
  ): Promise<PasswordCheck> {
    if (rejection.error !== "invalid_grant") {
      throw clientRefused(rejection);
    }
    const remote = await this.findKeycloakUser(input.account, input.login);
    if (remote === undefined) return { ok: false, userId: input.account?.id, reason: "invalid_credentials" };
    if (!remote.enabled) {
      // Keycloak says so before checking the password: nothing more may be revealed. Bring the record in step.
      await this.deps.users.refreshFromKeycloak(remote.externalId);
      return { ok: false, userId: input.account?.id, reason: "invalid_credentials" };
    }
    if (remote.mfaEnabled && input.totpCode === undefined) {
      // Keycloak checks the password only together with the code: VerifyMfa sends both.
      const userId = input.account?.id ?? (await this.deps.users.localUserIdFor(remote.externalId));
      this.pending.holdPassword(userId, input.login, input.password);
      return { ok: true, userId, mfa: "required" };
    }
    const userId = input.account?.id ?? (await this.deps.users.linkedUserIdFor(remote.externalId));
    return { ok: false, userId, reason: "invalid_credentials" };
  }

  private async findKeycloakUser(
    account: IdentityRef | undefined,
    login: string,
  ): Promise<KeycloakUser | undefined> {
    if (account !== undefined && account.externalId !== "")
      return this.deps.admin.getUser(account.externalId);
    return (await this.deps.admin.findByUsername(login)) ?? (await this.deps.admin.findByEmail(login));
  }

  /** After a grant: the local record brought in step, and the tokens held for startSession. */
  private async signedIn(
    tokens: KeycloakTokens,
  ): Promise<{ userId: string; mfaEnabled: boolean | undefined }> {
    const externalId = subjectOf(tokens.accessToken);
    let signedIn: { userId: string; mfaEnabled: boolean | undefined };
    try {
      signedIn = await this.deps.users.syncOnLogin(externalId);
    } catch (error) {
      await this.deps.oidc.logout(tokens.refreshToken).catch(() => {});
      if (isDomainError(error) && error.kind === "already_exists") {
        // No local record can be made: another Gatehouse user holds its username or email.
        throw new DomainError(
          "failed_precondition",
          "account_link_conflict",
          "this account clashes with another Gatehouse user; an administrator must resolve it (GetSyncStatus)",
          { cause: error },
        );
      }
      throw error;
    }
    this.pending.holdTokens(signedIn.userId, tokens, externalId);
    return signedIn;
  }

  async createMfaChallenge(account: IdentityRef): Promise<MfaChallenge> {
    const held = this.pending.takePassword(account.id);
    if (held === undefined) {
      throw new DomainError("failed_precondition", "password_not_checked", "sign in with a password first");
    }
    const { mfaToken, expiresAt } = await this.deps.challenges.create({ userId: account.id, ...held });
    return { mfaToken, expiresAt, methods: ["totp"] };
  }

  async answerMfaChallenge(mfaToken: string, answer: MfaAnswer): Promise<MfaCheck> {
    if (!("totpCode" in answer)) {
      throw new DomainError(
        "failed_precondition",
        "recovery_codes_unsupported",
        "with Keycloak there are no recovery codes; answer with a TOTP code",
      );
    }
    const pending = await this.deps.challenges.open(mfaToken);
    if (pending === undefined) return { ok: false, userId: undefined, reason: "invalid_mfa_token" };
    let tokens: KeycloakTokens;
    try {
      tokens = await this.deps.oidc.passwordGrant(pending.login, pending.password, answer.totpCode);
    } catch (error) {
      if (error instanceof OAuthRejection && error.error === "invalid_grant") {
        return { ok: false, userId: pending.userId, reason: "invalid_otp" };
      }
      throw error;
    }
    if (!(await this.deps.challenges.finish(mfaToken))) {
      await this.deps.oidc.logout(tokens.refreshToken).catch(() => {});
      return { ok: false, userId: pending.userId, reason: "invalid_mfa_token" };
    }
    const signedIn = await this.signedIn(tokens);
    return { ok: true, userId: signedIn.userId, method: "otp" };
  }

  // --- Sessions ---

  async startSession(
    account: IdentityRef,
    _client: ClientInfo,
    _authMethods: readonly string[],
  ): Promise<IssuedTokens> {
    const held = this.pending.takeTokens(account.id);
    if (held === undefined) {
      throw new DomainError("failed_precondition", "password_not_checked", "sign in with a password first");
    }
    await this.rememberSession(held.tokens.sessionId, held.externalId);
    return toIssuedTokens(held.tokens);
  }

  private async rememberSession(sessionId: string, externalId: string): Promise<void> {
    if (sessionId === "") return;
    await this.deps.sessionOwners
      .set(sessionId, externalId, this.deps.settings.sessionMaxSeconds * 1000)
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, "keycloak: remembering a session failed"),
      );
  }

  async refresh(refreshToken: string, _client: ClientInfo): Promise<RefreshResult> {
    // A session client's token (the browser's) is refreshed as that public client; the token's
    // unverified `azp` only picks the client: Keycloak checks the token itself.
    const clientId = this.sessionClientOf(refreshToken);
    const own = clientId === this.deps.oidc.clientId;
    const spend = await this.deps.spentRefreshTokens.spend(refreshToken);
    if (!spend.fresh) return this.reusedRefreshToken(refreshToken, spend.sessionId);
    let tokens: KeycloakTokens;
    try {
      tokens = await this.deps.oidc.refreshGrant(
        refreshToken,
        undefined,
        own ? {} : { publicClientId: clientId },
      );
    } catch (error) {
      if (!(error instanceof OAuthRejection)) {
        await spend.release().catch(() => {});
        throw error;
      }
      if (!own && (error.error === "invalid_client" || error.error === "unauthorized_client")) {
        await spend.release().catch(() => {});
        throw confidentialClient(error);
      }
      return this.rejectedRefresh(error, refreshToken);
    }
    const externalId = subjectOf(tokens.accessToken);
    const userId = await this.deps.users.localUserIdFor(externalId);
    await this.rememberSession(tokens.sessionId, externalId);
    return { ok: true, tokens: toIssuedTokens(tokens), userId };
  }

  private async rejectedRefresh(rejection: OAuthRejection, refreshToken: string): Promise<RefreshResult> {
    if (rejection.error !== "invalid_grant") {
      throw clientRefused(rejection);
    }
    const reason = refreshFailure(rejection.description);
    // Only Keycloak can check a refresh token's signature; these answers come after it has.
    const claims = reason === "invalid_refresh_token" ? undefined : unverifiedClaims(refreshToken);
    if (claims?.sid !== undefined && (reason === "session_ended" || reason === "refresh_token_reused")) {
      await this.revokeSessionTokens(claims.sid);
    }
    const userId =
      claims?.sub === undefined
        ? undefined
        : await this.deps.users.linkedUserIdFor(claims.sub).catch(() => undefined);
    return { ok: false, reason, userId, sessionId: claims?.sid };
  }

  /**
   * A refresh token Gatehouse spent before is presented again: someone holds
   * a copy. The session ends in Keycloak (admin API) and mesh-wide.
   */
  private async reusedRefreshToken(refreshToken: string, sessionId: string): Promise<RefreshResult> {
    const claims = unverifiedClaims(refreshToken);
    if (sessionId !== "") {
      await this.deps.admin.deleteSession(sessionId);
      await this.revokeSessionTokens(sessionId);
    }
    this.deps.logger.warn(
      { sessionId },
      "keycloak: a spent refresh token was presented again; session ended",
    );
    const userId =
      claims?.sub === undefined
        ? undefined
        : await this.deps.users.linkedUserIdFor(claims.sub).catch(() => undefined);
    return {
      ok: false,
      reason: "refresh_token_reused",
      userId,
      sessionId: sessionId === "" ? undefined : sessionId,
    };
  }

  /** Every access token of the session is refused from now on, on every replica. */
  private revokeSessionTokens(sessionId: string): Promise<void> {
    const { maxTokenLifetimeSeconds, clockSkewSeconds } = this.deps.settings;
    return this.deps.revocations.revokeSession(
      sessionId,
      new Date(this.now() + (maxTokenLifetimeSeconds + clockSkewSeconds) * 1000),
    );
  }

  async endSession(
    session: { refreshToken: string } | { sessionId: string; includeOffline?: boolean },
    _reason: string,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    if ("refreshToken" in session) return this.endSessionOfToken(session.refreshToken);
    const externalId = await this.deps.sessionOwners.get(session.sessionId);
    // A session id names a sign-in: its online session and, when it asked for offline access, the
    // offline copy Keycloak keeps under the same id. RevokeSession ends both; a logout the online one.
    const [online, offline] = await Promise.all([
      this.deps.admin.deleteSession(session.sessionId),
      session.includeOffline === true
        ? this.deps.admin.deleteSession(session.sessionId, { offline: true })
        : Promise.resolve(false),
    ]);
    // Also when Keycloak no longer has it: its access tokens may still be within their lifetime.
    await this.revokeSessionTokens(session.sessionId);
    if (!online && !offline) return undefined;
    const userId = externalId === undefined ? undefined : await this.deps.users.linkedUserIdFor(externalId);
    return { sessionId: session.sessionId, userId: userId ?? "" };
  }

  /**
   * Ends the session of a refresh or offline token of any session client, at
   * Keycloak's logout endpoint, which checks the token and ends the online or
   * offline session it belongs to: as Gatehouse's own client for its tokens,
   * as the token's public client (the browser's `gatehouse-web`) for theirs;
   * Keycloak refuses a token of another client from Gatehouse's. Undefined
   * when Keycloak refuses the token (invalid: logout is idempotent). A token
   * of a client Gatehouse does not manage, or of a confidential client whose
   * secret only it holds, is FAILED_PRECONDITION, never a silent 200: ending
   * its session by the token's unverified `sid` through the admin API would
   * let a forged token end anyone's session.
   */
  /**
   * The client a refresh or offline token was issued to (its `azp`): Gatehouse's own or one of
   * KEYCLOAK_SESSION_CLIENTS; FAILED_PRECONDITION `untrusted_client` for any other.
   */
  private sessionClientOf(refreshToken: string): string {
    const clientId = unverifiedClaims(refreshToken)?.azp ?? this.deps.oidc.clientId;
    if (clientId !== this.deps.oidc.clientId && !this.deps.settings.sessionClients.includes(clientId)) {
      throw new DomainError(
        "failed_precondition",
        "untrusted_client",
        "the token belongs to a Keycloak client whose sessions Gatehouse does not manage (KEYCLOAK_SESSION_CLIENTS)",
      );
    }
    return clientId;
  }

  private async endSessionOfToken(
    refreshToken: string,
  ): Promise<{ sessionId: string; userId: string } | undefined> {
    const claims = unverifiedClaims(refreshToken);
    const clientId = this.sessionClientOf(refreshToken);
    const own = clientId === this.deps.oidc.clientId;
    try {
      await this.deps.oidc.logout(refreshToken, own ? {} : { publicClientId: clientId });
    } catch (error) {
      if (!(error instanceof OAuthRejection)) throw error;
      if (!own && (error.error === "invalid_client" || error.error === "unauthorized_client")) {
        throw confidentialClient(error);
      }
      return undefined;
    }
    // Keycloak accepted the token, so it checked its signature: its sid and sub are Keycloak's.
    return claims?.sid === undefined ? undefined : this.sessionEnded(claims.sid, claims.sub);
  }

  private async sessionEnded(
    sessionId: string,
    externalId: string | undefined,
  ): Promise<{ sessionId: string; userId: string }> {
    await this.revokeSessionTokens(sessionId);
    const userId = externalId === undefined ? undefined : await this.deps.users.linkedUserIdFor(externalId);
    return { sessionId, userId: userId ?? "" };
  }

  /** The user's offline sessions of every session client (one sign-in's offline copy is listed once). */
  private async offlineSessions(externalId: string): Promise<KeycloakSession[]> {
    const perClient = await Promise.all(
      this.deps.settings.sessionClients.map((clientId) =>
        this.deps.admin.offlineSessions(externalId, clientId),
      ),
    );
    const byId = new Map<string, KeycloakSession>();
    for (const session of perClient.flat()) {
      const seen = byId.get(session.id);
      byId.set(
        session.id,
        seen === undefined
          ? session
          : { ...seen, clients: [...new Set([...seen.clients, ...session.clients])] },
      );
    }
    return [...byId.values()];
  }

  /**
   * Keycloak's logout of the user (`users/{id}/logout`) when every session
   * ends; one session at a time when one is kept or offline sessions are to
   * stay (the logout would make the offline tokens stale too). With offline
   * ones, every offline session of the session clients ends too (admin API,
   * and Gatehouse's client's consent, which holds its offline tokens), and
   * their ids are revoked mesh-wide, so access tokens minted from them fail at once.
   */
  async endUserSessions(
    userId: string,
    _reason: string,
    { exceptSessionId, includeOffline = true }: { exceptSessionId?: string; includeOffline?: boolean } = {},
  ): Promise<number> {
    const externalId = await this.deps.users.externalIdOf(userId);
    if (externalId === undefined || externalId === "") return 0;
    const sessions = (await this.deps.admin.sessions(externalId)).filter((s) => s.id !== exceptSessionId);
    const offline = includeOffline
      ? (await this.offlineSessions(externalId)).filter((s) => s.id !== exceptSessionId)
      : [];
    if (exceptSessionId === undefined && includeOffline) {
      await this.deps.admin.logoutUser(externalId);
    } else {
      for (const session of sessions) await this.deps.admin.deleteSession(session.id);
    }
    for (const session of offline) await this.deps.admin.deleteSession(session.id, { offline: true });
    if (includeOffline) await this.deps.admin.revokeOfflineTokens(externalId);
    const ended = new Set([...sessions, ...offline].map((session) => session.id));
    await Promise.all([...ended].map((id) => this.revokeSessionTokens(id)));
    return sessions.length + offline.length;
  }

  async getSession(sessionId: string): Promise<SessionInfo | undefined> {
    const externalId = await this.deps.sessionOwners.get(sessionId);
    if (externalId === undefined) return undefined;
    const userId = await this.deps.users.linkedUserIdFor(externalId);
    if (userId === undefined) return undefined;
    return (await this.listSessions(userId)).find((session) => session.id === sessionId);
  }

  /** Online sessions of every client and offline sessions of the session clients, newest first. */
  async listSessions(userId: string): Promise<SessionInfo[]> {
    const externalId = await this.deps.users.externalIdOf(userId);
    if (externalId === undefined || externalId === "") return [];
    const [online, offline] = await Promise.all([
      this.deps.admin.sessions(externalId),
      this.offlineSessions(externalId),
    ]);
    return [...online, ...offline]
      .map((session) => this.toSessionInfo(session, userId))
      .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || Number(a.offline) - Number(b.offline));
  }

  private toSessionInfo(session: KeycloakSession, userId: string): SessionInfo {
    const { sessionIdleSeconds, sessionMaxSeconds, offlineSessionIdleSeconds } = this.deps.settings;
    return {
      id: session.id,
      userId,
      clientId: session.clients[0] ?? "",
      ipAddress: session.ipAddress,
      userAgent: "",
      startedAt: session.startedAt,
      lastUsedAt: session.lastAccessAt,
      // Keycloak records one address per session, and no user agent.
      lastSeenIpAddress: session.ipAddress,
      lastSeenUserAgent: "",
      lastSeenAt: session.lastAccessAt,
      // Offline sessions have no max lifespan in the realm (offlineSessionMaxLifespanEnabled: false).
      expiresAt: session.offline
        ? new Date(session.lastAccessAt.getTime() + offlineSessionIdleSeconds * 1000)
        : new Date(
            Math.min(
              session.lastAccessAt.getTime() + sessionIdleSeconds * 1000,
              session.startedAt.getTime() + sessionMaxSeconds * 1000,
            ),
          ),
      offline: session.offline,
      revokedAt: undefined,
    };
  }

  async issueServiceAccountToken(): Promise<IssuedTokens> {
    throw new DomainError(
      "failed_precondition",
      "client_credentials_at_keycloak",
      "with Keycloak, service accounts get tokens from Keycloak with their Keycloak client secret",
    );
  }

  /**
   * Client credentials at Keycloak: Keycloak checks the client's secret; the
   * client must be registered as a Gatehouse service account (client_id =
   * the Keycloak client id) that is not disabled.
   */
  async clientCredentialsGrant(
    clientId: string,
    clientSecret: string,
    scope: string,
  ): Promise<IssuedTokens & { readonly serviceAccountId: string }> {
    const account = await this.deps.serviceAccountFor(clientId);
    let tokens: KeycloakTokens;
    try {
      tokens = await this.deps.oidc.clientCredentialsGrant({ clientId, clientSecret }, scope);
    } catch (error) {
      // Keycloak checks the client before the scope: invalid_scope means good credentials, a scope not granted.
      if (
        error instanceof OAuthRejection &&
        error.error === "invalid_scope" &&
        account !== undefined &&
        !account.disabled
      ) {
        throw new DomainError("invalid_argument", "invalid_scope", "the client may not ask for that scope", {
          violations: [{ field: "scope", description: "not a scope this client may ask for" }],
          cause: error,
        });
      }
      if (error instanceof OAuthRejection) throw invalidClient();
      throw error;
    }
    if (account === undefined || account.disabled) throw invalidClient();
    return { ...toIssuedTokens(tokens), serviceAccountId: account.id };
  }

  // --- Users and credentials ---

  async createUser(_userId: string, fields: IdentityFields): Promise<{ externalId: string }> {
    const externalId = await this.deps.admin.createUser({
      username: fields.username,
      email: fields.email,
      emailVerified: fields.emailVerified,
      firstName: fields.firstName,
      lastName: fields.lastName,
      enabled: fields.enabled,
      metadata: fields.metadata,
    });
    return { externalId };
  }

  async updateUser(account: IdentityRef, fields: Partial<IdentityFields>): Promise<void> {
    const externalId = requireLinked(account);
    const current = await this.deps.admin.getUser(externalId);
    if (current === undefined) {
      throw new DomainError("failed_precondition", "keycloak_user_missing", "the user is gone from Keycloak");
    }
    // Keycloak stores usernames in lower case and refuses username changes in this realm: a change of case is none.
    const username =
      fields.username !== undefined && fields.username.toLowerCase() !== current.username
        ? fields.username
        : undefined;
    await this.deps.admin.updateUser(externalId, { ...fields, username });
  }

  async deleteUser(account: IdentityRef): Promise<void> {
    if (account.externalId === "") return;
    await this.deps.admin.deleteUser(account.externalId);
  }

  async setPassword(account: IdentityRef, password: string): Promise<void> {
    await this.deps.admin.setPassword(requireLinked(account), password);
  }

  /**
   * A password grant, whose session is ended at once. For a user with OTP,
   * Keycloak checks the password only with a code: failed_precondition.
   */
  async verifyPassword(account: IdentityRef, password: string): Promise<boolean> {
    const externalId = requireLinked(account);
    try {
      const tokens = await this.deps.oidc.passwordGrant(account.username, password);
      await this.deps.oidc.logout(tokens.refreshToken).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "keycloak: ending the password-check session failed");
      });
      return true;
    } catch (error) {
      if (!(error instanceof OAuthRejection) || error.error !== "invalid_grant") throw error;
    }
    if ((await this.deps.admin.getUser(externalId))?.mfaEnabled === true) {
      throw new DomainError(
        "failed_precondition",
        "password_check_needs_otp",
        "Keycloak checks this account's password only together with a one-time code; use Keycloak's account console",
      );
    }
    return false;
  }

  /** Enrolment is Keycloak's CONFIGURE_TOTP required action: mails the link, then says so. */
  async enrollTotp(account: IdentityRef): Promise<TotpEnrollment> {
    const externalId = requireLinked(account);
    try {
      await this.deps.admin.executeActionsEmail(
        externalId,
        ["CONFIGURE_TOTP"],
        this.deps.settings.actionEmailLifespanSeconds,
      );
    } catch (error) {
      if (isDomainError(error) && error.kind === "unavailable") throw error;
      throw keycloakOwnsTotp(
        "TOTP is set up through Keycloak, but the email with the link could not be sent",
      );
    }
    throw keycloakOwnsTotp(
      "TOTP is set up through Keycloak's CONFIGURE_TOTP action: an email with the link has been sent",
    );
  }

  async confirmTotp(): Promise<string[]> {
    throw keycloakOwnsTotp("TOTP is set up through Keycloak's CONFIGURE_TOTP action (see EnrollTotp)");
  }

  /**
   * Keycloak checks a code only together with the password, in a grant: for a
   * user with OTP, verifyPassword has already answered FAILED_PRECONDITION.
   */
  async verifySecondFactor(): Promise<boolean> {
    throw keycloakOwnsTotp(
      "Keycloak checks one-time codes only together with the password; use Keycloak's account console",
    );
  }

  async disableTotp(account: IdentityRef): Promise<void> {
    const externalId = requireLinked(account);
    await this.deps.admin.removeOtpCredentials(externalId);
    await this.deps.users.refreshFromKeycloak(externalId);
  }

  async regenerateRecoveryCodes(): Promise<string[]> {
    throw new DomainError(
      "failed_precondition",
      "recovery_codes_unsupported",
      "with Keycloak there are no recovery codes",
    );
  }

  /**
   * Keycloak mails the link itself (execute-actions email through the realm's
   * SMTP server). Not awaited: Keycloak sends synchronously, and how long that
   * takes must not tell callers of ForgotPassword whether the account exists.
   */
  async sendAccountActionEmail(
    account: IdentityRef,
    purpose: "password_reset" | "email_verification",
  ): Promise<void> {
    const action = purpose === "password_reset" ? "UPDATE_PASSWORD" : "VERIFY_EMAIL";
    if (account.externalId === "") {
      this.deps.logger.warn(
        { userId: account.id, purpose },
        "keycloak: no action email for a user not linked to Keycloak",
      );
      return;
    }
    this.deps.admin
      .executeActionsEmail(account.externalId, [action], this.deps.settings.actionEmailLifespanSeconds)
      .catch((error: unknown) => {
        this.deps.logger.error(
          { err: error, userId: account.id, purpose },
          "keycloak: sending the action email failed",
        );
      });
  }
}

function requireLinked(account: IdentityRef): string {
  if (account.externalId === "") {
    throw new DomainError(
      "failed_precondition",
      "not_linked_to_keycloak",
      "this user has no Keycloak account yet; run UserService.SyncToKeycloak for it",
    );
  }
  return account.externalId;
}

function toIssuedTokens(tokens: KeycloakTokens): IssuedTokens {
  return {
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: new Date(tokens.accessTokenExpiresAt),
    refreshToken: tokens.refreshToken,
    refreshTokenExpiresAt:
      tokens.refreshTokenExpiresAt === undefined ? undefined : new Date(tokens.refreshTokenExpiresAt),
    sessionId: tokens.sessionId,
    scope: tokens.scope,
  };
}

/** The `sub` of a token Keycloak has just issued to us over the back channel. */
function subjectOf(accessToken: string): string {
  const sub = decodeJwt(accessToken).sub;
  if (typeof sub !== "string" || sub === "") {
    throw new DomainError(
      "internal",
      "keycloak_token_without_subject",
      "Keycloak issued a token without a subject",
    );
  }
  return sub;
}

/** sid and sub of a refresh token, unverified: use only after Keycloak accepted the token. */
function unverifiedClaims(
  token: string,
): { sid: string | undefined; sub: string | undefined; azp: string | undefined } | undefined {
  try {
    const payload = decodeJwt(token);
    return {
      sid: typeof payload.sid === "string" && payload.sid !== "" ? payload.sid : undefined,
      sub: typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : undefined,
      azp: typeof payload.azp === "string" && payload.azp !== "" ? payload.azp : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Keycloak's invalid_grant descriptions on refresh, as the contract's reasons. */
export function refreshFailure(
  description: string,
): "invalid_refresh_token" | "refresh_token_expired" | "session_ended" | "refresh_token_reused" {
  if (/reuse/i.test(description)) return "refresh_token_reused";
  if (/^token is not active/i.test(description)) return "refresh_token_expired";
  if (/session/i.test(description) || /stale token/i.test(description)) return "session_ended";
  return "invalid_refresh_token";
}

/** Keycloak refused to act on the token as its public client: only that (confidential) client can. */
function confidentialClient(rejection: OAuthRejection): DomainError {
  return new DomainError(
    "failed_precondition",
    "confidential_client",
    "the token belongs to a confidential Keycloak client: only that client can use it",
    { cause: rejection },
  );
}
