import type { Config, KeycloakProviderConfig, LocalProviderConfig } from "../config/config.ts";
import type { AuditLog } from "../domain/audit/audit-log.ts";
import { CLAIMS_SUPPORTED, SUPPORTED_SCOPES } from "../domain/oidc/scopes.ts";
import type { AccessChangeNotifier } from "../domain/ports/access-changes.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { IdentityProvider } from "../domain/ports/identity-provider.ts";
import type { LogoutTokenSigner } from "../domain/ports/logout-tokens.ts";
import type { SigningKeyRotation } from "../domain/ports/signing-key-rotation.ts";
import { BackchannelLogout } from "../domain/revocation/backchannel-logout.ts";
import type { RevocationStore } from "../domain/revocation/revocation-store.ts";
import type { AccessControl } from "../domain/roles/access-control.ts";
import { IdentityEventPoller } from "../domain/sync/identity-event-poller.ts";
import { RoleMapping } from "../domain/sync/role-mapping.ts";
import { UserSyncService } from "../domain/sync/user-sync-service.ts";
import type { VaultTokenProvider } from "../domain/vault/vault-token-provider.ts";
import { KeycloakAdmin } from "../identity/keycloak/keycloak-admin.ts";
import { KeycloakEventSource } from "../identity/keycloak/keycloak-event-source.ts";
import { KeycloakLogoutTokens } from "../identity/keycloak/keycloak-logout-tokens.ts";
import { KeycloakMfaChallenges } from "../identity/keycloak/keycloak-mfa-challenges.ts";
import { KeycloakOidc, type KeycloakSpan } from "../identity/keycloak/keycloak-oidc.ts";
import { KeycloakIdentityProvider } from "../identity/keycloak/keycloak-provider.ts";
import { KeycloakSubjects } from "../identity/keycloak/keycloak-subjects.ts";
import { KeycloakTokenVerifier } from "../identity/keycloak/keycloak-token-verifier.ts";
import { trustKeycloakCa } from "../identity/keycloak/keycloak-trust.ts";
import { KeycloakUserDirectory } from "../identity/keycloak/keycloak-user-directory.ts";
import { KeycloakVaultTokens } from "../identity/keycloak/keycloak-vault-tokens.ts";
import { SpentRefreshTokens } from "../identity/keycloak/spent-refresh-tokens.ts";
import { AccessTokens } from "../identity/local/access-tokens.ts";
import { IdTokens } from "../identity/local/id-tokens.ts";
import { resolveKeyEncryptionKey } from "../identity/local/key-encryption-key.ts";
import { LocalIdentityProvider } from "../identity/local/local-identity-provider.ts";
import { LocalOidcSessions } from "../identity/local/local-oidc-sessions.ts";
import { LocalVaultTokens } from "../identity/local/local-vault-tokens.ts";
import { LogoutTokens } from "../identity/local/logout-tokens.ts";
import { PasswordHasher } from "../identity/local/password-hasher.ts";
import { Sealer } from "../identity/local/sealer.ts";
import { SigningKeyRing } from "../identity/local/signing-key-ring.ts";
import { Totp } from "../identity/local/totp.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Tracing } from "../observability/tracing.ts";
import { BACKCHANNEL_LOGOUT_PATH, backchannelLogoutRoute } from "../server/backchannel-logout-route.ts";
import type { HttpHandler } from "../server/http-handler.ts";
import { wellKnownRoutes } from "../server/well-known.ts";
import { oidcTokenEndpointsMetadata } from "./oidc-token-endpoints.ts";
import type { Repositories } from "./storage.ts";

export interface IdentityDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly repositories: Repositories;
  readonly store: CoordinationStore;
  readonly revocations: RevocationStore;
  readonly access: AccessControl;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
  readonly metrics: Metrics;
  /** With tracing on, each Keycloak request is a child span of its RPC. */
  readonly tracing?: Tracing | undefined;
}

/** What the chosen identity provider brings: the provider port and the adapters that only it can build. */
export interface Identity {
  readonly provider: IdentityProvider;
  /** The token vault's refresh grant against this provider. */
  readonly vaultTokens: VaultTokenProvider;
  /** UserService's Keycloak sync; undefined under the built-in provider. */
  readonly keycloakSync: UserSyncService | undefined;
  /** On-demand signing-key rotation; undefined under Keycloak (the realm signs). */
  readonly signingKeyRotation: SigningKeyRotation | undefined;
  /** JWKS and OpenID discovery (built-in provider only). */
  readonly plainRoutes: ReadonlyMap<string, HttpHandler>;
  /** Signs back-channel logout tokens to OIDC clients (built-in provider only). */
  readonly logoutTokens: LogoutTokenSigner | undefined;
  /** Keycloak's event poller (started once serving, closed first); undefined under the built-in provider. */
  readonly eventPoller: IdentityEventPoller | undefined;
  /** What the built-in OpenID Provider needs from the built-in provider; undefined under Keycloak. */
  readonly openIdProvider: LocalOpenIdProviderParts | undefined;
}

export interface LocalOpenIdProviderParts {
  readonly sessions: LocalOidcSessions;
  readonly idTokens: IdTokens;
  /** Keys the SSO cookie's MAC (derived from KEY_ENCRYPTION_KEY: the same on every replica). */
  readonly cookieMac: (value: string) => string;
  /** Stops the RS256 ring's maintenance timer. */
  stop(): void;
}

export function createIdentity(deps: IdentityDeps): Promise<Identity> {
  const provider = deps.config.identity.provider;
  return provider.kind === "keycloak"
    ? Promise.resolve(createKeycloakIdentity(deps, provider))
    : createLocalIdentity(deps, provider);
}

/** The built-in provider: our own signing keys, sessions, passwords and TOTP. */
async function createLocalIdentity(deps: IdentityDeps, settings: LocalProviderConfig): Promise<Identity> {
  const { config, logger, repositories, store, revocations } = deps;
  const identity = config.identity;
  const rootKey = await resolveKeyEncryptionKey(settings.keyEncryptionKey);
  const ringOptions = {
    rotationMs: settings.signingKeyRotationDays * 86_400_000,
    verifyAfterRetirementMs: (identity.accessTokenTtlSeconds + config.decision.clockSkewSeconds + 300) * 1000,
  };
  const keys = new SigningKeyRing(
    repositories.signingKeys,
    new Sealer(rootKey, "signing-keys"),
    logger.child({ component: "signing-keys" }),
    ringOptions,
  );
  // OIDC's mandatory ID-token algorithm; rotated like the ES256 ring, published beside it.
  const rsaKeys = new SigningKeyRing(
    repositories.signingKeys,
    new Sealer(rootKey, "signing-keys"),
    logger.child({ component: "signing-keys", algorithm: "RS256" }),
    { ...ringOptions, algorithm: "RS256" },
  );
  const provider = new LocalIdentityProvider({
    settings: {
      accessTokenTtlSeconds: identity.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: identity.refreshTokenTtlSeconds,
      sessionMaxLifetimeSeconds: identity.sessionMaxLifetimeSeconds,
      offlineTokenTtlSeconds: identity.offlineTokenTtlSeconds,
      refreshGraceSeconds: identity.refreshGraceSeconds,
      mfaTokenTtlSeconds: identity.mfaTokenTtlSeconds,
      clockSkewSeconds: config.decision.clockSkewSeconds,
    },
    keys,
    accessTokens: new AccessTokens(keys, {
      issuer: identity.issuer,
      audience: identity.audience,
      ttlSeconds: identity.accessTokenTtlSeconds,
      clockSkewSeconds: config.decision.clockSkewSeconds,
    }),
    sessions: repositories.sessions,
    credentials: repositories.credentials,
    hasher: new PasswordHasher(settings.argon2),
    totp: new Totp(store, identity.mfaIssuer),
    store,
    revocations,
    graceSealer: new Sealer(rootKey, "refresh-grace"),
    totpSealer: new Sealer(rootKey, "totp-secrets"),
    recoveryCodeSealer: new Sealer(rootKey, "recovery-codes"),
    logger: logger.child({ component: "local-identity" }),
  });
  await provider.start();
  await rsaKeys.start();
  const cookieSealer = new Sealer(rootKey, "sso-cookie");
  return {
    provider,
    vaultTokens: new LocalVaultTokens(provider, identity.audience),
    keycloakSync: undefined,
    signingKeyRotation: { rotate: async () => [await keys.rotate(), await rsaKeys.rotate()] },
    plainRoutes: wellKnownRoutes(
      identity.issuer,
      () => ({
        keys: [...keys.jwks().keys, ...rsaKeys.jwks().keys],
      }),
      { scopes: SUPPORTED_SCOPES, userClaims: CLAIMS_SUPPORTED },
      oidcTokenEndpointsMetadata(identity.issuer),
    ),
    logoutTokens: new LogoutTokens({ RS256: rsaKeys, ES256: keys }),
    eventPoller: undefined,
    openIdProvider: {
      sessions: new LocalOidcSessions({
        provider,
        sessions: repositories.sessions,
        users: repositories.users,
        participants: repositories.sessionClients,
      }),
      idTokens: new IdTokens({ RS256: rsaKeys, ES256: keys }, identity.issuer),
      cookieMac: (value) => cookieSealer.mac(value),
      stop: () => rsaKeys.stop(),
    },
  };
}

/**
 * IDENTITY_PROVIDER=keycloak: one OIDC client, the admin API as Gatehouse's
 * service account, the token verifier, the user sync and the provider.
 * Nothing talks to Keycloak until first used, so Gatehouse starts (and
 * answers UNAVAILABLE per call) while Keycloak is down.
 */
function createKeycloakIdentity(deps: IdentityDeps, settings: KeycloakProviderConfig): Identity {
  const { config, logger, repositories, store } = deps;
  if (settings.caFile !== undefined) {
    const count = trustKeycloakCa(settings.caFile);
    logger.info(
      { file: settings.caFile, certificates: count },
      "trusting KEYCLOAK_CA_FILE for Keycloak's TLS",
    );
  }
  const connection = {
    url: settings.url,
    realm: settings.realm,
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    timeoutMs: settings.timeoutMs,
    span: keycloakSpan(deps.tracing),
  };
  const oidc = new KeycloakOidc(connection);
  const roleMapping = new RoleMapping(settings.roleMapping);
  const admin = new KeycloakAdmin(connection, oidc);
  const sync = new UserSyncService({
    users: repositories.users,
    links: repositories.userLinks,
    remote: new KeycloakUserDirectory(admin, { readAccess: !roleMapping.isEmpty }),
    roleMapping,
    roles: repositories.roles,
    businessRoles: repositories.businessRoles,
    state: repositories.syncState,
    store,
    access: deps.access,
    audit: deps.audit,
    revocations: deps.revocations,
    changes: deps.changes,
    logger: logger.child({ component: "keycloak-sync" }),
    pageSize: settings.syncPageSize,
    onUserSynced: (outcome) => deps.metrics.keycloakUsersSynced.inc({ outcome }),
    onFailure: (source) => deps.metrics.keycloakSyncFailures.inc({ source }),
  });
  // The shared state (any replica's last run) is read from the database at each scrape.
  deps.metrics.onCollect(async () => {
    try {
      const lastRun = await repositories.syncState.lastRun();
      if (lastRun !== undefined) {
        deps.metrics.keycloakLastSyncTime.set(lastRun.finishedAt.getTime() / 1000);
        for (const outcome of ["created", "updated", "unchanged", "disabled", "failed"] as const)
          deps.metrics.keycloakLastSyncUsers.set({ outcome }, lastRun[outcome]);
      }
      deps.metrics.keycloakSyncFailuresSinceLastRun.set(
        await repositories.syncState.failuresSince(lastRun?.finishedAt ?? new Date(0)),
      );
    } catch (error) {
      logger.warn({ err: error }, "reading the keycloak sync state for /metrics failed");
    }
  });
  const serviceAccounts = repositories.serviceAccounts;
  const verifier = new KeycloakTokenVerifier(
    oidc,
    new KeycloakSubjects((externalId) => sync.localUserIdFor(externalId), serviceAccounts),
    {
      mode: settings.verifyMode,
      audience: settings.clientId,
      clockSkewSeconds: config.decision.clockSkewSeconds,
      timeoutMs: settings.timeoutMs,
    },
  );
  const spentRefreshTokens = new SpentRefreshTokens(store, config.decision.clockSkewSeconds);
  const provider = new KeycloakIdentityProvider({
    oidc,
    spentRefreshTokens,
    admin,
    verifier,
    users: sync,
    async serviceAccountFor(clientId) {
      const found = await serviceAccounts.findByClientId(clientId);
      return found === undefined ? undefined : { id: found.account.id, disabled: found.account.disabled };
    },
    challenges: new KeycloakMfaChallenges(store, config.identity.mfaTokenTtlSeconds * 1000),
    revocations: deps.revocations,
    sessionOwners: {
      set: (sessionId, externalId, ttlMs) => store.set(`kc:sid:${sessionId}`, externalId, ttlMs),
      get: (sessionId) => store.get(`kc:sid:${sessionId}`),
    },
    settings: {
      maxTokenLifetimeSeconds: settings.maxTokenLifetimeSeconds,
      clockSkewSeconds: config.decision.clockSkewSeconds,
      sessionIdleSeconds: settings.sessionIdleSeconds,
      sessionMaxSeconds: settings.sessionMaxSeconds,
      actionEmailLifespanSeconds: config.identity.resetTokenTtlSeconds,
      // The realm import's offlineSessionIdleTimeout is the same 30 days as OFFLINE_TOKEN_TTL_SECONDS' default.
      offlineSessionIdleSeconds: config.identity.offlineTokenTtlSeconds,
      sessionClients: settings.sessionClients,
    },
    logger: logger.child({ component: "keycloak" }),
  });
  const { metrics } = deps;
  const sessionRevocationMs = (settings.maxTokenLifetimeSeconds + config.decision.clockSkewSeconds) * 1000;
  const backchannelLogout = new BackchannelLogout({
    verifier: new KeycloakLogoutTokens(oidc, verifier, {
      audiences: settings.backchannelLogoutClients,
      clockSkewSeconds: config.decision.clockSkewSeconds,
    }),
    store,
    revocations: deps.revocations,
    linkedUserIdFor: (externalId) => sync.linkedUserIdFor(externalId),
    sessionRevocationMs,
  });
  const eventPoller = new IdentityEventPoller({
    source: new KeycloakEventSource(admin, { watchDirectory: !roleMapping.isEmpty }),
    cursor: repositories.eventCursor,
    store,
    sync,
    sessions: provider,
    revocations: deps.revocations,
    logger: logger.child({ component: "keycloak-events" }),
    settings: {
      pollMs: settings.eventsPollMs,
      retentionMs: settings.eventsRetentionSeconds * 1000,
      sessionRevocationMs,
    },
    onApplied: (kind, lagMs) => {
      metrics.keycloakEventsApplied.inc({ kind });
      metrics.keycloakEventLag.set(lagMs / 1000);
    },
    onGap: () => metrics.keycloakEventGaps.inc(),
    onFailure: (stage) => metrics.keycloakEventFailures.inc({ stage }),
  });
  return {
    provider,
    vaultTokens: new KeycloakVaultTokens(oidc, settings.clientId, spentRefreshTokens),
    keycloakSync: sync,
    logoutTokens: undefined,
    signingKeyRotation: undefined,
    plainRoutes: new Map([
      [
        BACKCHANNEL_LOGOUT_PATH,
        backchannelLogoutRoute(
          (token) => backchannelLogout.handle(token),
          logger.child({ component: "backchannel-logout" }),
        ),
      ],
    ]),
    eventPoller,
    openIdProvider: undefined,
  };
}

/** Keycloak requests as child spans `keycloak <operation>` (undefined with tracing off: no wrapper at all). */
function keycloakSpan(tracing: Tracing | undefined): KeycloakSpan | undefined {
  if (tracing === undefined) return undefined;
  return (operation, request) =>
    tracing.childSpan(
      `keycloak ${operation}`,
      { "peer.service": "keycloak", "gatehouse.keycloak.operation": operation },
      request,
    );
}
