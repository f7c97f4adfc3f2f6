import type { CheckCallerPolicy } from "../domain/decision/check-callers.ts";
import type { UserSyncService } from "../domain/sync/user-sync-service.ts";
import { createAuthHandler } from "../rpc/handlers/auth-handler.ts";
import { createAuthorizationHandler, type EnvoyCheck } from "../rpc/handlers/authorization-handler.ts";
import { createRegistryHandler } from "../rpc/handlers/registry-handler.ts";
import { createRoleHandler } from "../rpc/handlers/role-handler.ts";
import { createUserHandler } from "../rpc/handlers/user-handler.ts";
import { createVaultHandler } from "../rpc/handlers/vault-handler.ts";
import type { Handlers } from "../rpc/routes.ts";
import type { DomainServices } from "./domain-services.ts";

/** Every RPC implementation, each service's built once over the domain services. */
export function createHandlers(
  services: DomainServices,
  envoyCheck: EnvoyCheck,
  keycloakSync: UserSyncService | undefined,
  checkCallers: CheckCallerPolicy | undefined,
): Handlers {
  return {
    auth: createAuthHandler({
      auth: services.auth,
      passkeys: services.passkeys,
      users: services.users,
      engine: services.engine,
      keys: services.keys,
      changeStream: services.changeStream,
      watchAccess: services.watchAccess,
    }),
    users: createUserHandler({
      users: services.users,
      passkeys: services.passkeys,
      grants: services.grants,
      sync: keycloakSync,
    }),
    roles: createRoleHandler({ roles: services.roles, businessRoles: services.businessRoles }),
    registry: createRegistryHandler({
      registry: services.registry,
      accounts: services.serviceAccounts,
      grants: services.grants,
      oidcClients: services.oidcClients,
    }),
    vault: createVaultHandler(services.vault),
    authorization: createAuthorizationHandler(envoyCheck, checkCallers),
  };
}
