import type { Config } from "../../config/config.ts";
import type { AuditLog } from "../../domain/audit/audit-log.ts";
import type { AccessChangeNotifier } from "../../domain/ports/access-changes.ts";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";
import type { RevocationStore } from "../../domain/revocation/revocation-store.ts";
import type { AccessControl } from "../../domain/roles/access-control.ts";
import type { ServiceAccountRepository } from "../../domain/service-accounts/service-account.ts";
import { UserSyncService } from "../../domain/sync/user-sync-service.ts";
import type { UserRepository } from "../../domain/users/user-repository.ts";
import type { Logger } from "../../observability/logger.ts";
import type { SqlRunner } from "../../persistence/sql.ts";
import { SqlSyncStateRepository } from "../../persistence/sync-state-repository.ts";
import { SqlUserLinkRepository } from "../../persistence/user-link-repository.ts";
import {
  createKeycloakSyncHandler,
  type KeycloakSyncHandler,
} from "../../rpc/handlers/keycloak-sync-handler.ts";
import { KeycloakAdmin } from "./keycloak-admin.ts";
import { KeycloakMfaChallenges } from "./keycloak-mfa-challenges.ts";
import { KeycloakOidc } from "./keycloak-oidc.ts";
import { KeycloakIdentityProvider } from "./keycloak-provider.ts";
import { KeycloakSubjects } from "./keycloak-subjects.ts";
import { KeycloakTokenVerifier } from "./keycloak-token-verifier.ts";
import { KeycloakUserDirectory } from "./keycloak-user-directory.ts";

export interface KeycloakModuleDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly sql: SqlRunner;
  readonly store: CoordinationStore;
  readonly revocations: RevocationStore;
  readonly users: UserRepository;
  readonly serviceAccounts: Pick<ServiceAccountRepository, "findByClientId">;
  readonly access: AccessControl;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
}

export interface KeycloakModule {
  readonly provider: KeycloakIdentityProvider;
  /** The realm's OIDC client as Gatehouse's confidential client (e.g. for the token vault). */
  readonly oidc: KeycloakOidc;
  readonly sync: UserSyncService;
  /** UserService's SyncFromKeycloak, SyncToKeycloak and GetSyncStatus. */
  readonly syncHandler: KeycloakSyncHandler;
  close(): Promise<void>;
}

/**
 * Wires IDENTITY_PROVIDER=keycloak: the OIDC client, the admin API as
 * Gatehouse's service account, the token verifier, the user sync and the
 * provider. Nothing talks to Keycloak until first used, so Gatehouse starts
 * (and reports UNAVAILABLE per call) while Keycloak is down.
 */
export function createKeycloakModule(deps: KeycloakModuleDeps): KeycloakModule {
  const { config, logger, store } = deps;
  const settings = config.keycloak;
  if (settings.url === undefined || settings.clientSecret === undefined) {
    throw new Error("IDENTITY_PROVIDER=keycloak needs KEYCLOAK_URL and KEYCLOAK_CLIENT_SECRET");
  }
  const connection = {
    url: settings.url,
    realm: settings.realm,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    timeoutMs: settings.timeoutMs,
  };
  const oidc = new KeycloakOidc(connection);
  const admin = new KeycloakAdmin(connection, oidc);
  const sync = new UserSyncService({
    users: deps.users,
    links: new SqlUserLinkRepository(deps.sql),
    remote: new KeycloakUserDirectory(admin),
    state: new SqlSyncStateRepository(deps.sql),
    store,
    access: deps.access,
    audit: deps.audit,
    revocations: deps.revocations,
    changes: deps.changes,
    logger: logger.child({ component: "keycloak-sync" }),
    pageSize: settings.syncPageSize,
  });
  const subjects = new KeycloakSubjects(
    (externalId) => sync.localUserIdFor(externalId),
    deps.serviceAccounts,
  );
  const verifier = new KeycloakTokenVerifier(oidc, subjects, {
    mode: settings.verifyMode,
    audience: settings.clientId,
    clockSkewSeconds: config.decision.clockSkewSeconds,
    timeoutMs: settings.timeoutMs,
  });
  const provider = new KeycloakIdentityProvider({
    oidc,
    admin,
    verifier,
    users: sync,
    async serviceAccountFor(clientId) {
      const found = await deps.serviceAccounts.findByClientId(clientId);
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
    },
    logger: logger.child({ component: "keycloak" }),
  });
  return {
    provider,
    oidc,
    sync,
    syncHandler: createKeycloakSyncHandler({ sync }),
    close: () => provider.close(),
  };
}
