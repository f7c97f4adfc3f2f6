import { randomBytes } from "node:crypto";
import type { Requester } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { IdTokenSigner, LiveSession, OidcSessions } from "../ports/oidc-sessions.ts";
import type { TokenGrant } from "../ports/session-store.ts";
import type { UserRepository } from "../users/user-repository.ts";
import { AuthorizationCodes } from "./authorization-codes.ts";
import {
  type AuthorizationRequest,
  authorizationRedirect,
  checkAuthorizationRequest,
} from "./authorization-request.ts";
import { idTokenClaims } from "./id-token-claims.ts";
import { OAuthError } from "./oauth-error.ts";
import type { OidcClient, OidcClientDirectory } from "./oidc-client.ts";
import { verifierMatches } from "./pkce.ts";
import { claimsForScopes } from "./scopes.ts";

export interface OpenIdProviderSettings {
  readonly issuer: string;
  /** Gatehouse's own audience: every access token carries it, so VerifyToken and Check accept them all. */
  readonly audience: string;
  readonly idTokenTtlSeconds: number;
  readonly accessTokenTtlSeconds: number;
}

export interface OpenIdProviderDeps {
  readonly settings: OpenIdProviderSettings;
  readonly clients: OidcClientDirectory;
  readonly sessions: OidcSessions;
  readonly signer: IdTokenSigner;
  readonly users: UserRepository;
  readonly store: CoordinationStore;
  readonly audit: AuditLog;
  /** RFC 8707: the audience of the active registered service a `resource` names. */
  readonly audienceOf: (resource: string) => Promise<string | undefined>;
  readonly now?: () => number;
}

/** What the authorization endpoint (or a step after it) answers. */
export type AuthorizationOutcome =
  /** Never a redirect: the client or its redirect URI could not be trusted. */
  | { readonly kind: "error_page"; readonly message: string }
  | { readonly kind: "redirect"; readonly location: string }
  | { readonly kind: "sign_in"; readonly pendingId: string; readonly loginHint: string | undefined }
  | { readonly kind: "consent"; readonly pendingId: string };

/** A request waiting for the user (sign-in, consent), by an unguessable id, across replicas. */
export interface PendingAuthorization {
  readonly request: AuthorizationRequest;
  readonly clientName: string;
}

export type EndSessionOutcome =
  | { readonly kind: "error_page"; readonly message: string }
  /** No proof the relying party speaks for the signed-in user: ask them (a form, CSRF-protected). */
  | { readonly kind: "confirm" }
  | { readonly kind: "signed_out"; readonly location: string | undefined };

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: "Bearer";
  readonly expires_in: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

const PENDING_MS = 10 * 60_000;
/** Consent is remembered per user and client (until revoked by expiry). */
const CONSENT_MS = 30 * 86_400_000;

/**
 * The built-in OpenID Provider (#13): the authorization code flow with PKCE,
 * ID tokens, UserInfo and RP-initiated logout, on Gatehouse's own sessions —
 * a browser sign-in is a session Login could have opened, and everything a
 * relying party gets from it lives and dies with that session.
 */
export class OpenIdProvider {
  private readonly deps: OpenIdProviderDeps;
  private readonly codes: AuthorizationCodes;
  private readonly now: () => number;

  constructor(deps: OpenIdProviderDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.codes = new AuthorizationCodes(deps.store, this.now);
  }

  get issuer(): string {
    return this.deps.settings.issuer;
  }

  // --- The authorization endpoint and its interaction steps ---

  async authorize(
    params: ReadonlyMap<string, string>,
    ssoSessionId: string | undefined,
    request: Requester,
  ): Promise<AuthorizationOutcome> {
    const checked = await checkAuthorizationRequest(params, this.deps);
    if (!checked.ok) {
      if ("page" in checked) return { kind: "error_page", message: checked.page };
      return this.errorRedirect(checked.redirect, checked.error);
    }
    return this.proceed(checked.request, checked.client, ssoSessionId, false, request);
  }

  async pending(pendingId: string): Promise<PendingAuthorization | undefined> {
    if (!/^[A-Za-z0-9_-]{22,64}$/.test(pendingId)) return undefined;
    const value = await this.deps.store.get(`oidc:pending:${pendingId}`);
    return value === undefined ? undefined : (JSON.parse(value) as PendingAuthorization);
  }

  /** After the user signed in on the hosted page: carries on with the request that sent them there. */
  async resume(pendingId: string, ssoSessionId: string, request: Requester): Promise<AuthorizationOutcome> {
    const found = await this.pendingWithClient(pendingId);
    if (found === undefined) return expired();
    return this.proceed(found.pending.request, found.client, ssoSessionId, true, request);
  }

  /** The consent page's answer. */
  async consent(
    pendingId: string,
    ssoSessionId: string | undefined,
    allow: boolean,
    request: Requester,
  ): Promise<AuthorizationOutcome> {
    const found = await this.pendingWithClient(pendingId);
    if (found === undefined) return expired();
    const { request: authorization } = found.pending;
    await this.deps.store.delete(`oidc:pending:${pendingId}`);
    const session = ssoSessionId === undefined ? undefined : await this.deps.sessions.live(ssoSessionId);
    if (session === undefined) return this.proceed(authorization, found.client, undefined, false, request);
    if (!allow) {
      return this.errorRedirect(authorization, new OAuthError("access_denied", "the user declined"));
    }
    await this.deps.store.set(
      consentKey(session.userId, authorization.clientId),
      JSON.stringify(authorization.scopes),
      CONSENT_MS,
    );
    return this.issueCode(authorization, session, request);
  }

  private async pendingWithClient(
    pendingId: string,
  ): Promise<{ pending: PendingAuthorization; client: OidcClient } | undefined> {
    const pending = await this.pending(pendingId);
    if (pending === undefined) return undefined;
    const client = await this.deps.clients.find(pending.request.clientId);
    // The client may have been disabled, or its redirect URI removed, meanwhile.
    if (client === undefined || !client.redirectUris.includes(pending.request.redirectUri)) return undefined;
    return { pending, client };
  }

  private async proceed(
    authorization: AuthorizationRequest,
    client: OidcClient,
    ssoSessionId: string | undefined,
    freshSignIn: boolean,
    request: Requester,
  ): Promise<AuthorizationOutcome> {
    const session = ssoSessionId === undefined ? undefined : await this.deps.sessions.live(ssoSessionId);
    const tooOld =
      session !== undefined &&
      authorization.maxAge !== undefined &&
      this.now() - session.authTime.getTime() > authorization.maxAge * 1000;
    const mustSignIn =
      session === undefined || (!freshSignIn && (authorization.prompt.includes("login") || tooOld));
    if (mustSignIn) {
      if (authorization.prompt.includes("none")) {
        return this.errorRedirect(
          authorization,
          new OAuthError("login_required", "the user is not signed in"),
        );
      }
      return {
        kind: "sign_in",
        pendingId: await this.savePending(authorization, client),
        loginHint: authorization.loginHint,
      };
    }
    if (!client.firstParty && !(await this.hasConsent(session!.userId, authorization))) {
      if (authorization.prompt.includes("none")) {
        return this.errorRedirect(
          authorization,
          new OAuthError("consent_required", "the user has not consented"),
        );
      }
      return { kind: "consent", pendingId: await this.savePending(authorization, client) };
    }
    return this.issueCode(authorization, session!, request);
  }

  private async hasConsent(userId: string, authorization: AuthorizationRequest): Promise<boolean> {
    const stored = await this.deps.store.get(consentKey(userId, authorization.clientId));
    if (stored === undefined) return false;
    const granted = JSON.parse(stored) as string[];
    return authorization.scopes.every((scope) => granted.includes(scope));
  }

  private async savePending(authorization: AuthorizationRequest, client: OidcClient): Promise<string> {
    const pendingId = randomBytes(24).toString("base64url");
    const pending: PendingAuthorization = { request: authorization, clientName: client.name };
    await this.deps.store.set(`oidc:pending:${pendingId}`, JSON.stringify(pending), PENDING_MS);
    return pendingId;
  }

  private issueCode(
    authorization: AuthorizationRequest,
    session: LiveSession,
    request: Requester,
  ): Promise<AuthorizationOutcome> {
    return this.deps.audit.track(
      {
        action: "oidc.authorize",
        actor: request,
        actorId: session.userId,
        targetKind: "session",
        targetId: session.id,
        details: { client_id: authorization.clientId },
      },
      async () => {
        const code = await this.codes.issue({
          clientId: authorization.clientId,
          redirectUri: authorization.redirectUri,
          scopes: authorization.scopes,
          nonce: authorization.nonce,
          codeChallenge: authorization.codeChallenge,
          sessionId: session.id,
          userId: session.userId,
          audience: authorization.audience,
        });
        return {
          kind: "redirect" as const,
          location: authorizationRedirect(authorization.redirectUri, this.issuer, authorization.state, {
            code,
          }),
        };
      },
    );
  }

  private errorRedirect(
    to: { readonly redirectUri: string; readonly state: string | undefined },
    error: OAuthError,
  ): AuthorizationOutcome {
    return {
      kind: "redirect",
      location: authorizationRedirect(to.redirectUri, this.issuer, to.state, {
        error: error.error,
        error_description: error.description,
      }),
    };
  }

  // --- The token endpoint ---

  /** RFC 6749 §4.1.3 and RFC 7636 §4.6, for an authenticated (or public, identified) client. */
  exchangeCode(
    client: OidcClient,
    form: ReadonlyMap<string, string>,
    request: Requester,
  ): Promise<TokenResponse> {
    return this.deps.audit.track(
      {
        action: "oidc.token",
        actor: request,
        details: { client_id: client.clientId, grant_type: "authorization_code" },
      },
      async (note) => {
        if (!client.grantTypes.includes("authorization_code")) {
          throw new OAuthError("unauthorized_client", "the client may not use the authorization code grant");
        }
        const code = form.get("code");
        if (code === undefined || code === "") throw new OAuthError("invalid_request", "code is required");
        const redemption = await this.codes.redeem(code);
        if (redemption.kind === "unknown") throw invalidGrant("the code is unknown, used or expired");
        const { grant } = redemption;
        note.actor(grant.userId);
        note.target("session", grant.sessionId);
        if (redemption.kind === "replayed") {
          // The code leaked: end the session it came from (its tokens, every client's), as §4.1.2 asks.
          await this.deps.sessions.end(grant.sessionId, "authorization_code_replayed");
          note.detail("replayed", "true");
          throw invalidGrant("the code is unknown, used or expired");
        }
        if (grant.clientId !== client.clientId) throw invalidGrant("the code was issued to another client");
        if (form.get("redirect_uri") !== grant.redirectUri) {
          throw invalidGrant("redirect_uri does not match the authorization request");
        }
        const verifier = form.get("code_verifier");
        if (grant.codeChallenge !== undefined) {
          if (verifier === undefined) throw invalidGrant("code_verifier is required");
          if (!verifierMatches(verifier, grant.codeChallenge)) throw invalidGrant("code_verifier is wrong");
        } else if (verifier !== undefined) {
          // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is an attack.
          throw invalidGrant("the authorization request had no code_challenge");
        }
        const session = await this.deps.sessions.live(grant.sessionId);
        if (session === undefined) throw invalidGrant("the session has ended");
        const scope = grant.scopes.join(" ");
        const tokens = await this.deps.sessions.issueForClient(
          session.id,
          this.tokenGrant(client.clientId, scope, grant.audience),
          {
            withRefreshToken: client.grantTypes.includes("refresh_token"),
            offline: grant.scopes.includes("offline_access"),
          },
        );
        if (tokens === undefined) throw invalidGrant("the session has ended");
        const idToken = await this.idToken(client, session, tokens.accessToken, grant.nonce);
        return {
          access_token: tokens.accessToken,
          token_type: "Bearer",
          expires_in: this.expiresIn(tokens.accessTokenExpiresAt),
          scope,
          ...(tokens.refreshToken === "" ? {} : { refresh_token: tokens.refreshToken }),
          id_token: idToken,
        };
      },
    );
  }

  /** RFC 6749 §6, on the existing rotation (grace window, reuse detection); bound to the client it was issued to. */
  refresh(
    client: OidcClient,
    form: ReadonlyMap<string, string>,
    request: Requester & { readonly userAgent: string },
  ): Promise<TokenResponse> {
    return this.deps.audit.track(
      {
        action: "oidc.token",
        actor: request,
        details: { client_id: client.clientId, grant_type: "refresh_token" },
      },
      async (note) => {
        if (!client.grantTypes.includes("refresh_token")) {
          throw new OAuthError("unauthorized_client", "the client may not use the refresh token grant");
        }
        const refreshToken = form.get("refresh_token");
        if (refreshToken === undefined || refreshToken === "") {
          throw new OAuthError("invalid_request", "refresh_token is required");
        }
        const grant = await this.deps.sessions.grantOf(refreshToken);
        if (grant === undefined || grant.clientId !== client.clientId) {
          throw invalidGrant("the refresh token is not valid");
        }
        const requested = form.get("scope");
        if (requested !== undefined) {
          const granted = grant.scope.split(" ");
          if (requested.split(" ").some((scope) => scope !== "" && !granted.includes(scope))) {
            throw new OAuthError("invalid_scope", "a refresh cannot widen the scope");
          }
        }
        const result = await this.deps.sessions.refresh(refreshToken, {
          ip: request.ip,
          userAgent: request.userAgent,
          clientId: client.clientId,
        });
        if (!result.ok) {
          if (result.userId !== undefined) note.actor(result.userId);
          note.detail("reason", result.reason);
          throw invalidGrant(
            result.reason === "refresh_token_reused"
              ? "the refresh token was already used; the session has been ended"
              : "the refresh token is not valid",
          );
        }
        note.actor(result.userId);
        note.target("session", result.tokens.sessionId);
        const session = await this.deps.sessions.live(result.tokens.sessionId);
        const idToken =
          session === undefined || !grant.scope.split(" ").includes("openid")
            ? undefined
            : await this.idToken(client, session, result.tokens.accessToken, undefined);
        return {
          access_token: result.tokens.accessToken,
          token_type: "Bearer",
          expires_in: this.expiresIn(result.tokens.accessTokenExpiresAt),
          scope: grant.scope,
          refresh_token: result.tokens.refreshToken,
          ...(idToken === undefined ? {} : { id_token: idToken }),
        };
      },
    );
  }

  private tokenGrant(clientId: string, scope: string, audience: string | undefined): TokenGrant {
    const own = this.deps.settings.audience;
    return {
      clientId,
      scope,
      audience: audience === undefined || audience === own ? [own] : [audience, own],
    };
  }

  private idToken(
    client: OidcClient,
    session: LiveSession,
    accessToken: string,
    nonce: string | undefined,
  ): Promise<string> {
    return this.deps.signer.sign(
      idTokenClaims({
        issuer: this.issuer,
        clientId: client.clientId,
        userId: session.userId,
        sessionId: session.id,
        authTime: session.authTime,
        amr: session.amr,
        nonce,
        accessToken,
        ttlSeconds: this.deps.settings.idTokenTtlSeconds,
        now: this.now(),
      }),
      client.idTokenSigningAlg,
    );
  }

  private expiresIn(expiresAt: Date): number {
    return Math.max(0, Math.round((expiresAt.getTime() - this.now()) / 1000));
  }

  // --- UserInfo ---

  /** OIDC Core §5.3, for a token the decision engine accepted: claims by the token's scope. */
  async userInfo(subjectId: string, scope: string | undefined): Promise<Record<string, unknown>> {
    const scopes = (scope ?? "").split(" ");
    if (!scopes.includes("openid")) {
      throw new OAuthError("insufficient_scope", "the access token was not issued for openid");
    }
    const user = await this.deps.users.getUser(subjectId);
    if (user === undefined || user.status === "disabled") {
      throw new OAuthError("invalid_token", "the access token is not valid");
    }
    return claimsForScopes(user, scopes);
  }

  // --- RP-initiated logout ---

  /**
   * OIDC RP-Initiated Logout 1.0: ends the browser's session when the
   * relying party proves (id_token_hint) that it speaks for it, else after the
   * user confirms; redirects only to a post_logout_redirect_uri registered for
   * the client the hint or client_id names, with `state` untouched.
   */
  endSession(
    params: ReadonlyMap<string, string>,
    ssoSessionId: string | undefined,
    confirmed: boolean,
    request: Requester,
  ): Promise<EndSessionOutcome> {
    return this.deps.audit.track({ action: "oidc.end_session", actor: request }, async (note) => {
      const hintText = params.get("id_token_hint");
      const hint = hintText === undefined ? undefined : await this.deps.signer.verifyHint(hintText);
      if (hintText !== undefined && hint === undefined) {
        return { kind: "error_page" as const, message: "The sign-out request is not valid." };
      }
      const hintClient = hint === undefined ? undefined : audienceClient(hint);
      const clientId = params.get("client_id");
      if (clientId !== undefined && hintClient !== undefined && clientId !== hintClient) {
        return { kind: "error_page" as const, message: "The sign-out request is not valid." };
      }
      const client = await (async () => {
        const id = hintClient ?? clientId;
        return id === undefined ? undefined : this.deps.clients.find(id);
      })();
      const postLogout = params.get("post_logout_redirect_uri");
      if (
        postLogout !== undefined &&
        (client === undefined || !client.postLogoutRedirectUris.includes(postLogout))
      ) {
        return {
          kind: "error_page" as const,
          message: "The application asked to send you to an address it has not registered.",
        };
      }
      const current = ssoSessionId === undefined ? undefined : await this.deps.sessions.live(ssoSessionId);
      const hintSession = typeof hint?.sid === "string" ? hint.sid : undefined;
      const proven = current !== undefined && hintSession === current.id;
      if (current !== undefined && !proven && !confirmed) return { kind: "confirm" as const };
      for (const sessionId of new Set([current?.id, proven || confirmed ? hintSession : undefined])) {
        if (sessionId === undefined) continue;
        const ended = await this.deps.sessions.end(sessionId, "end_session");
        if (ended !== undefined) {
          note.actor(ended.userId);
          note.target("session", ended.sessionId);
        }
      }
      if (postLogout === undefined) return { kind: "signed_out" as const, location: undefined };
      const url = new URL(postLogout);
      const state = params.get("state");
      if (state !== undefined) url.searchParams.set("state", state);
      return { kind: "signed_out" as const, location: url.toString() };
    });
  }
}

const consentKey = (userId: string, clientId: string) =>
  `oidc:consent:${userId}:${Buffer.from(clientId).toString("base64url")}`;

const invalidGrant = (description: string) => new OAuthError("invalid_grant", description);

const expired = (): AuthorizationOutcome => ({
  kind: "error_page",
  message: "This sign-in request has expired. Go back to the application and start again.",
});

function audienceClient(claims: Record<string, unknown>): string | undefined {
  const aud = claims.aud;
  if (typeof aud === "string") return aud;
  if (Array.isArray(aud) && aud.length === 1 && typeof aud[0] === "string") return aud[0];
  return typeof claims.azp === "string" ? claims.azp : undefined;
}
