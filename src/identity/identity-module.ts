import type { Interceptor } from "@connectrpc/connect";
import type { DataSource } from "typeorm";
import type { Config } from "../config/config.ts";
import { AuditLog } from "../domain/audit/audit-log.ts";
import { AuthService } from "../domain/auth/auth-service.ts";
import { type AccessChangeNotifier, IGNORE_ACCESS_CHANGES } from "../domain/ports/access-changes.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import { RateLimiter } from "../domain/rate-limit/rate-limiter.ts";
import type { RevocationStore } from "../domain/revocation/revocation-store.ts";
import { AccessControl } from "../domain/roles/access-control.ts";
import { BusinessRoleService } from "../domain/roles/business-role-service.ts";
import { RoleService } from "../domain/roles/role-service.ts";
import { ServiceAccountService } from "../domain/service-accounts/service-account-service.ts";
import { AccountFactory } from "../domain/users/account-factory.ts";
import { bootstrapAdministrator } from "../domain/users/bootstrap-admin.ts";
import { PasswordPolicy } from "../domain/users/password-policy.ts";
import type { UserRepository } from "../domain/users/user-repository.ts";
import { type EffectiveGrantSource, UserService } from "../domain/users/user-service.ts";
import { SmtpMailer, UnconfiguredMailer } from "../mail/smtp-mailer.ts";
import type { Logger } from "../observability/logger.ts";
import { SqlAuditRepository } from "../persistence/audit-repository.ts";
import { SqlBusinessRoleRepository } from "../persistence/business-role-repository.ts";
import { SqlCredentialRepository } from "../persistence/credential-repository.ts";
import { SqlRoleRepository } from "../persistence/role-repository.ts";
import { SqlServiceAccountRepository } from "../persistence/service-account-repository.ts";
import { SqlSessionRepository } from "../persistence/session-repository.ts";
import { SqlSigningKeyRepository } from "../persistence/signing-key-repository.ts";
import { Sql } from "../persistence/sql.ts";
import { SqlUserRepository } from "../persistence/user-repository.ts";
import { SqlUserTokenRepository } from "../persistence/user-token-repository.ts";
import { createAuthHandler } from "../rpc/handlers/auth-handler.ts";
import { createRoleHandler } from "../rpc/handlers/role-handler.ts";
import { createUserHandler } from "../rpc/handlers/user-handler.ts";
import { rateLimitInterceptor } from "../rpc/interceptors/rate-limit.ts";
import type { HttpHandler } from "../server/http-server.ts";
import { wellKnownRoutes } from "../server/well-known.ts";
import type { IdentityProvider } from "./identity-provider.ts";
import { createKeycloakModule } from "./keycloak/keycloak-module.ts";
import { AccessTokens } from "./local/access-tokens.ts";
import { resolveKeyEncryptionKey } from "./local/key-encryption-key.ts";
import { LocalIdentityProvider } from "./local/local-identity-provider.ts";
import { PasswordHasher } from "./local/password-hasher.ts";
import { Sealer } from "./local/sealer.ts";
import { SigningKeyRing } from "./local/signing-key-ring.ts";
import { Totp } from "./local/totp.ts";

export interface IdentityModuleDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly dataSource: DataSource;
  readonly store: CoordinationStore;
  readonly revocations: RevocationStore;
  /** Where access changes are announced (the decision engine's change feed); ignored by default. */
  readonly changes?: AccessChangeNotifier;
  /** GetMe's grants: direct ones and those of business roles (the grants module). */
  readonly grants: EffectiveGrantSource;
}

/** The identity core, built: what app.ts wires into the server and what other modules use. */
export interface IdentityModule {
  readonly provider: IdentityProvider;
  readonly accessControl: AccessControl;
  readonly auditLog: AuditLog;
  readonly users: UserService;
  readonly userRepository: UserRepository;
  readonly businessRoleRepository: SqlBusinessRoleRepository;
  readonly serviceAccounts: ServiceAccountService;
  readonly handlers: {
    readonly auth: ReturnType<typeof createAuthHandler>;
    readonly users: ReturnType<typeof createUserHandler>;
    readonly roles: ReturnType<typeof createRoleHandler>;
  };
  /** Goes after the validation interceptor. */
  readonly rateLimitInterceptor: Interceptor;
  /** JWKS and OpenID discovery (built-in provider only). */
  readonly plainRoutes: ReadonlyMap<string, HttpHandler>;
  close(): Promise<void>;
}

/**
 * Builds the identity core: repositories, the identity provider, domain
 * services and RPC handlers. Ensures the built-in roles, the signing keys and
 * the bootstrap administrator before returning.
 */
export async function createIdentityModule(deps: IdentityModuleDeps): Promise<IdentityModule> {
  const { config, logger, store, revocations } = deps;
  const identity = config.identity;
  const changes = deps.changes ?? IGNORE_ACCESS_CHANGES;
  const sql = new Sql(deps.dataSource, { embedded: config.database.url === undefined });

  const userRepository = new SqlUserRepository(sql);
  const roleRepository = new SqlRoleRepository(sql);
  const businessRoleRepository = new SqlBusinessRoleRepository(sql);
  const auditLog = new AuditLog(new SqlAuditRepository(sql), logger.child({ component: "audit" }));
  const accessControl = new AccessControl(roleRepository);

  const keycloak =
    identity.provider === "keycloak"
      ? createKeycloakModule({
          config,
          logger,
          sql,
          store,
          revocations,
          users: userRepository,
          serviceAccounts: new SqlServiceAccountRepository(sql),
          access: accessControl,
          audit: auditLog,
          changes,
        })
      : undefined;
  const local = keycloak === undefined ? await createLocalProvider(deps, sql) : undefined;
  const provider: IdentityProvider = keycloak?.provider ?? local!.provider;

  const passwordPolicy = new PasswordPolicy({
    minLength: identity.passwordMinLength,
    minCharacterClasses: identity.passwordMinCharacterClasses,
  });
  const accounts = new AccountFactory(userRepository, provider);
  const serviceAccounts = new ServiceAccountService({
    repository: new SqlServiceAccountRepository(sql),
    revocations,
    changes,
  });
  const mailer =
    config.smtp.url === undefined
      ? new UnconfiguredMailer(logger.child({ component: "mail" }))
      : new SmtpMailer(config.smtp.url, config.smtp.from, logger.child({ component: "mail" }));
  const grants = deps.grants;

  const users = new UserService({
    users: userRepository,
    roles: roleRepository,
    businessRoles: businessRoleRepository,
    accounts,
    provider,
    revocations,
    access: accessControl,
    audit: auditLog,
    passwordPolicy,
    changes,
    grants,
    // AuthService owns the reset tokens and is built next.
    invitations: { invite: (user) => auth.invite(user) },
  });
  const auth = new AuthService({
    settings: {
      signupEnabled: identity.signupEnabled,
      emailVerificationRequired: identity.emailVerificationRequired,
      lockoutThreshold: identity.lockoutThreshold,
      lockoutSeconds: identity.lockoutSeconds,
      resetTokenTtlSeconds: identity.resetTokenTtlSeconds,
      emailVerificationTtlSeconds: identity.emailVerificationTtlSeconds,
      passwordResetUrl: identity.passwordResetUrl,
      emailVerificationUrl: identity.emailVerificationUrl,
      clientId: identity.audience,
    },
    users: userRepository,
    userTokens: new SqlUserTokenRepository(sql),
    accounts,
    provider,
    serviceAccounts,
    passwordPolicy,
    mailer,
    audit: auditLog,
    changes,
  });
  const roles = new RoleService({ roles: roleRepository, access: accessControl, audit: auditLog, changes });
  const businessRoles = new BusinessRoleService({
    businessRoles: businessRoleRepository,
    services: businessRoleRepository,
    access: accessControl,
    audit: auditLog,
    changes,
  });

  await roles.ensureBuiltInRoles();
  if (identity.bootstrapAdmin !== undefined) {
    await bootstrapAdministrator(identity.bootstrapAdmin, {
      users: userRepository,
      accounts,
      passwordPolicy,
      logger,
    });
  }

  return {
    provider,
    accessControl,
    auditLog,
    users,
    userRepository,
    businessRoleRepository,
    serviceAccounts,
    handlers: {
      auth: createAuthHandler({ auth, users }),
      // Under Keycloak, the sync methods come from the Keycloak module.
      users: { ...createUserHandler({ users }), ...keycloak?.syncHandler },
      roles: createRoleHandler({ roles, businessRoles }),
    },
    rateLimitInterceptor: rateLimitInterceptor(
      new RateLimiter(store, logger.child({ component: "rate-limit" })),
      config.rateLimit,
    ),
    plainRoutes: local?.plainRoutes ?? new Map(),
    async close() {
      await provider.close();
      await mailer.close();
    },
  };
}

/** The built-in provider: our own signing keys, sessions, passwords and TOTP. */
async function createLocalProvider(
  deps: IdentityModuleDeps,
  sql: Sql,
): Promise<{ provider: LocalIdentityProvider; plainRoutes: ReadonlyMap<string, HttpHandler> }> {
  const { config, logger, store, revocations } = deps;
  const identity = config.identity;
  const rootKey = await resolveKeyEncryptionKey(identity.keyEncryptionKey, config.database.dataDir);
  const keys = new SigningKeyRing(
    new SqlSigningKeyRepository(sql),
    new Sealer(rootKey, "signing-keys"),
    logger.child({ component: "signing-keys" }),
    {
      rotationMs: identity.signingKeyRotationDays * 86_400_000,
      verifyAfterRetirementMs:
        (identity.accessTokenTtlSeconds + config.decision.clockSkewSeconds + 300) * 1000,
    },
  );
  const provider = new LocalIdentityProvider({
    settings: {
      accessTokenTtlSeconds: identity.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: identity.refreshTokenTtlSeconds,
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
    sessions: new SqlSessionRepository(sql),
    credentials: new SqlCredentialRepository(sql),
    hasher: new PasswordHasher(identity.argon2),
    totp: new Totp(store, identity.mfaIssuer),
    store,
    revocations,
    graceSealer: new Sealer(rootKey, "refresh-grace"),
    totpSealer: new Sealer(rootKey, "totp-secrets"),
    recoveryCodeSealer: new Sealer(rootKey, "recovery-codes"),
    logger: logger.child({ component: "local-identity" }),
  });
  await provider.start();
  return { provider, plainRoutes: wellKnownRoutes(identity.issuer, () => keys.jwks()) };
}
