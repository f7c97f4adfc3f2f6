import { CoordinationCeremonyStore } from "../cache/coordination-ceremony-store.ts";
import type { Config } from "../config/config.ts";
import { AuditLog } from "../domain/audit/audit-log.ts";
import { AuthService } from "../domain/auth/auth-service.ts";
import { SignInThrottle } from "../domain/auth/sign-in-throttle.ts";
import type { ChangeFeed } from "../domain/change-feed/change-feed.ts";
import { ChangeStream } from "../domain/change-feed/change-stream.ts";
import type { FeedAccessChangeNotifier } from "../domain/change-feed/feed-access-change-notifier.ts";
import { WatchAccess } from "../domain/change-feed/watch-access.ts";
import { AccessDirectory } from "../domain/decision/access-directory.ts";
import { DecisionEngine } from "../domain/decision/decision-engine.ts";
import { servedOnReturn } from "../domain/decision/served-on-return.ts";
import { ServiceDirectory } from "../domain/decision/service-directory.ts";
import { GrantService } from "../domain/grants/grant-service.ts";
import { KeyAdministration } from "../domain/keys/key-administration.ts";
import { OidcClientRegistry } from "../domain/oidc/oidc-client-registry.ts";
import { RegisteredClientDirectory } from "../domain/oidc/registered-client-directory.ts";
import { PasskeyAssertions } from "../domain/passkeys/passkey-assertions.ts";
import { PasskeyService } from "../domain/passkeys/passkey-service.ts";
import type { PasskeySettings } from "../domain/passkeys/passkey-settings.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { IdentityProvider } from "../domain/ports/identity-provider.ts";
import type { Mailer } from "../domain/ports/mailer.ts";
import type { SigningKeyRotation } from "../domain/ports/signing-key-rotation.ts";
import { ServiceAccountAdmin } from "../domain/registry/service-account-admin.ts";
import { ServiceRegistry } from "../domain/registry/service-registry.ts";
import type { RevocationRegistry } from "../domain/revocation/revocation-registry.ts";
import { AccessControl, type SecondFactorPolicy } from "../domain/roles/access-control.ts";
import { BusinessRoleService } from "../domain/roles/business-role-service.ts";
import { PrivilegeCeiling } from "../domain/roles/privilege-ceiling.ts";
import { RoleService } from "../domain/roles/role-service.ts";
import { ServiceAccountService } from "../domain/service-accounts/service-account-service.ts";
import { AccountFactory } from "../domain/users/account-factory.ts";
import { PasswordPolicy } from "../domain/users/password-policy.ts";
import { UserService } from "../domain/users/user-service.ts";
import type { VaultKeyring } from "../domain/vault/vault-keyring.ts";
import { VaultService } from "../domain/vault/vault-service.ts";
import type { VaultTokenProvider } from "../domain/vault/vault-token-provider.ts";
import { SimpleWebAuthn } from "../identity/webauthn/simple-webauthn.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Repositories } from "./storage.ts";

/** The domain services that need nothing from the identity provider: built first, the provider takes some. */
export interface AccessServices {
  readonly access: AccessControl;
  readonly audit: AuditLog;
}

export function createAccessServices(
  repositories: Repositories,
  logger: Logger,
  adminSecondFactor: SecondFactorPolicy = "off",
): AccessServices {
  return {
    access: new AccessControl(repositories.roles, {
      policy: adminSecondFactor,
      sessionMethods: async (sessionId) => (await repositories.sessions.get(sessionId))?.authMethods,
    }),
    audit: new AuditLog(repositories.audit, logger.child({ component: "audit" })),
  };
}

/** A WebAuthn ceremony's challenge may be answered this long (WebAuthn's recommended range ends at 10 min). */
const PASSKEY_CEREMONY_TTL_MS = 300_000;
const MAX_PASSKEYS_PER_USER = 20;

export interface DomainServicesDeps {
  readonly config: Config;
  readonly repositories: Repositories;
  readonly accessServices: AccessServices;
  readonly provider: IdentityProvider;
  readonly signingKeyRotation: SigningKeyRotation | undefined;
  readonly vaultTokens: VaultTokenProvider;
  readonly vaultKeyring: VaultKeyring;
  readonly feed: ChangeFeed;
  readonly revocations: RevocationRegistry;
  readonly changes: FeedAccessChangeNotifier;
  readonly mailer: Mailer;
  readonly store: CoordinationStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface DomainServices {
  readonly auth: AuthService;
  /** Registering and managing passkeys (their sign-in is the AuthService's). */
  readonly passkeys: PasskeyService;
  readonly users: UserService;
  readonly roles: RoleService;
  readonly businessRoles: BusinessRoleService;
  readonly grants: GrantService;
  readonly registry: ServiceRegistry;
  readonly serviceAccounts: ServiceAccountAdmin;
  /** The admin API's view of the OIDC clients. */
  readonly oidcClients: OidcClientRegistry;
  /** The OpenID Provider's view of them (find, verifySecret). */
  readonly oidcClientDirectory: RegisteredClientDirectory;
  readonly vault: VaultService;
  readonly keys: KeyAdministration;
  readonly engine: DecisionEngine;
  readonly accounts: AccountFactory;
  readonly passwordPolicy: PasswordPolicy;
  readonly changeStream: ChangeStream;
  readonly watchAccess: WatchAccess;
}

export function createDomainServices(deps: DomainServicesDeps): DomainServices {
  const { config, repositories, provider, revocations, changes, metrics } = deps;
  const { access, audit } = deps.accessServices;
  const identity = config.identity;

  const passwordPolicy = new PasswordPolicy({
    minLength: identity.passwordMinLength,
    minCharacterClasses: identity.passwordMinCharacterClasses,
  });
  const accounts = new AccountFactory(repositories.users, provider);
  const serviceAccountService = new ServiceAccountService({
    repository: repositories.serviceAccounts,
    revocations,
    changes,
  });
  // Who may manage whom: every write on an account (users, grants, service accounts, vault).
  const ceiling = new PrivilegeCeiling({
    roles: repositories.roles,
    grants: repositories.grants,
    services: repositories.businessRoles,
  });
  const grants = new GrantService({
    repository: repositories.grants,
    accessChanges: changes,
    access,
    audit,
    ceiling,
  });
  const throttle = new SignInThrottle({
    store: deps.store,
    users: repositories.users,
    settings: {
      sourceThreshold: identity.lockoutSourceThreshold,
      accountThreshold: identity.lockoutThreshold,
      lockoutSeconds: identity.lockoutSeconds,
    },
    // The message only: the error of a failed coordination-store call carries no secret, but keep it small.
    warn: (message, error) =>
      deps.logger.warn({ err: { message: error instanceof Error ? error.message : String(error) } }, message),
  });
  const passkeySettings: PasskeySettings = {
    availability:
      provider.kind === "keycloak" ? "keycloak" : identity.passkeys.enabled ? "enabled" : "disabled",
    rp: { id: identity.passkeys.rpId, name: identity.passkeys.rpName, origins: identity.passkeys.origins },
    ceremonyTtlMs: PASSKEY_CEREMONY_TTL_MS,
    maxPerUser: MAX_PASSKEYS_PER_USER,
  };
  const ceremonies = new CoordinationCeremonyStore(deps.store);
  const webauthn = new SimpleWebAuthn();
  const auth = new AuthService({
    settings: {
      signupEnabled: identity.signupEnabled,
      emailVerificationRequired: identity.emailVerificationRequired,
      resetTokenTtlSeconds: identity.resetTokenTtlSeconds,
      emailVerificationTtlSeconds: identity.emailVerificationTtlSeconds,
      passwordResetUrl: identity.passwordResetUrl,
      emailVerificationUrl: identity.emailVerificationUrl,
      clientId: identity.audience,
    },
    users: repositories.users,
    userTokens: repositories.userTokens,
    accounts,
    provider,
    serviceAccounts: serviceAccountService,
    throttle,
    passwordPolicy,
    mailer: deps.mailer,
    audit,
    changes,
    passkeys: new PasskeyAssertions({
      settings: passkeySettings,
      passkeys: repositories.passkeys,
      ceremonies,
      webauthn,
    }),
  });
  const passkeys = new PasskeyService({
    settings: passkeySettings,
    passkeys: repositories.passkeys,
    ceremonies,
    webauthn,
    users: repositories.users,
    access,
    ceiling,
    reauthentication: auth,
    audit,
    changes,
  });
  const users = new UserService({
    users: repositories.users,
    userTokens: repositories.userTokens,
    roles: repositories.roles,
    businessRoles: repositories.businessRoles,
    accounts,
    provider,
    revocations,
    access,
    ceiling,
    audit,
    passwordPolicy,
    changes,
    grants,
    // Inviting (CreateUser without a password) mails a set-password link: AuthService owns those tokens.
    invitations: auth,
  });
  const roles = new RoleService({ roles: repositories.roles, access, audit, changes });
  const businessRoles = new BusinessRoleService({
    businessRoles: repositories.businessRoles,
    services: repositories.businessRoles,
    access,
    ceiling,
    audit,
    changes,
  });
  const services = new ServiceDirectory(
    () => repositories.services.all(),
    config.envoy.hostServices,
    deps.feed,
  );
  const registry = new ServiceRegistry({
    repository: repositories.services,
    changes: servedOnReturn(changes, services),
    access,
    audit,
  });
  const serviceAccounts = new ServiceAccountAdmin({
    accounts: serviceAccountService,
    grants,
    access,
    audit,
    ceiling,
  });
  const oidcClients = new OidcClientRegistry({ repository: repositories.oidcClients, access, audit });
  const oidcClientDirectory = new RegisteredClientDirectory(repositories.oidcClients);
  const vault = new VaultService({
    keyring: deps.vaultKeyring,
    entries: repositories.vault,
    tokens: deps.vaultTokens,
    sessions: provider,
    users: repositories.users,
    revocations,
    access,
    ceiling,
    audit,
    changes,
    settings: {
      sessionRevocationMs: (identity.longestAccessTokenSeconds + config.decision.clockSkewSeconds) * 1000,
    },
    throttle,
    onMint: (source) => metrics.vaultMints.inc({ source }),
  });

  // One engine answers VerifyToken, Envoy's Check and Gatehouse's own bearer authentication.
  const subjectAccess = new AccessDirectory(repositories.access, deps.feed, {
    maxEntries: config.decision.subjectCacheSize,
    ttlMs: config.decision.subjectCacheTtlSeconds * 1000,
  });
  const engine = new DecisionEngine(
    {
      verifier: provider,
      revocations,
      access: subjectAccess,
      services,
      changes: deps.feed,
    },
    {
      tokenCacheSize: config.decision.tokenCacheSize,
      clockSkewSeconds: config.decision.clockSkewSeconds,
      onDecision: (decision) => metrics.countDecision(decision.outcome, decision.reason ?? ""),
    },
  );

  const changeStream = new ChangeStream(deps.feed, repositories.changeLog, {
    heartbeatMs: config.watchChanges.heartbeatSeconds * 1000,
    bufferSize: config.watchChanges.bufferSize,
    maxCursorAgeMs: config.watchChanges.maxCursorAgeSeconds * 1000,
  });

  return {
    auth,
    passkeys,
    users,
    roles,
    businessRoles,
    grants,
    registry,
    serviceAccounts,
    oidcClients,
    oidcClientDirectory,
    vault,
    keys: new KeyAdministration({ rotation: deps.signingKeyRotation, access, audit }),
    engine,
    accounts,
    passwordPolicy,
    changeStream,
    watchAccess: new WatchAccess(access, subjectAccess),
  };
}
