import { Counter, type Registry } from "prom-client";
import type { DataSource } from "typeorm";
import type { Config } from "../../config/config.ts";
import type { AccessChangeNotifier } from "../../domain/ports/access-changes.ts";
import type { RevocationStore } from "../../domain/revocation/revocation-store.ts";
import { requireKeysForStoredEntries } from "../../domain/vault/key-rotation.ts";
import { VaultKeyring } from "../../domain/vault/vault-keyring.ts";
import { VaultService } from "../../domain/vault/vault-service.ts";
import type { VaultTokenProvider } from "../../domain/vault/vault-token-provider.ts";
import { Sql } from "../../persistence/sql.ts";
import { SqlVaultRepository } from "../../persistence/vault-repository.ts";
import { createVaultHandler } from "../../rpc/handlers/vault-handler.ts";
import type { IdentityModule } from "../identity-module.ts";
import { KeycloakOidc } from "../keycloak/keycloak-oidc.ts";
import { LocalIdentityProvider } from "../local/local-identity-provider.ts";
import { KeycloakVaultTokens } from "./keycloak-vault-tokens.ts";
import { LocalVaultTokens } from "./local-vault-tokens.ts";

export function vaultRepository(config: Config, dataSource: DataSource): SqlVaultRepository {
  const embedded = config.database.url === undefined;
  return new SqlVaultRepository(new Sql(dataSource, { embedded }), {
    embedded,
    poolSize: config.database.poolSize,
  });
}

/**
 * The keyring from VAULT_KEYS, checked against what is stored: throws
 * VaultKeyError naming any key id the entries need and the ring lacks.
 */
export async function loadVaultKeyring(config: Config, dataSource: DataSource): Promise<VaultKeyring> {
  const keyring = new VaultKeyring(config.vault.keys, config.vault.activeKeyId);
  await requireKeysForStoredEntries(keyring, vaultRepository(config, dataSource));
  return keyring;
}

export interface VaultModuleDeps {
  readonly config: Config;
  readonly dataSource: DataSource;
  readonly keyring: VaultKeyring;
  readonly identity: IdentityModule;
  readonly revocations: RevocationStore;
  readonly changes: AccessChangeNotifier;
  readonly metrics: Registry;
  /** Test seam: wraps the provider port (e.g. to count round trips). */
  readonly wrapTokens?: (tokens: VaultTokenProvider) => VaultTokenProvider;
}

/** TokenVaultService on whichever identity provider runs. */
export function createVaultHandlers(deps: VaultModuleDeps) {
  const { config, identity } = deps;
  const tokens = deps.wrapTokens?.(vaultTokens(config, identity)) ?? vaultTokens(config, identity);
  const minted = new Counter({
    name: "gatehouse_vault_mints_total",
    help: "TokenVault.GetAccessToken calls by how they are served: a provider round trip (provider), joining one under way in this process (joined), or taking the token another replica minted meanwhile (replica).",
    labelNames: ["source"],
    registers: [deps.metrics],
  });
  const tokenLifetimeSeconds =
    config.identity.provider === "keycloak"
      ? config.keycloak.maxTokenLifetimeSeconds
      : config.identity.accessTokenTtlSeconds;
  const vault = new VaultService({
    keyring: deps.keyring,
    entries: vaultRepository(config, deps.dataSource),
    tokens,
    sessions: identity.provider,
    users: identity.userRepository,
    revocations: deps.revocations,
    requirePermission: identity.accessControl.check,
    ceiling: identity.privilegeCeiling,
    audit: identity.auditLog,
    changes: deps.changes,
    settings: {
      sessionRevocationMs: (tokenLifetimeSeconds + config.decision.clockSkewSeconds) * 1000,
      lockoutThreshold: config.identity.lockoutThreshold,
      lockoutSeconds: config.identity.lockoutSeconds,
    },
    onMint: (source) => minted.inc({ source }),
  });
  return createVaultHandler(vault);
}

function vaultTokens(config: Config, identity: IdentityModule): VaultTokenProvider {
  if (identity.provider instanceof LocalIdentityProvider) {
    return new LocalVaultTokens(identity.provider, config.identity.audience);
  }
  const { url, realm, clientId, clientSecret, timeoutMs } = config.keycloak;
  if (url === undefined || clientSecret === undefined) {
    throw new Error("IDENTITY_PROVIDER=keycloak needs KEYCLOAK_URL and KEYCLOAK_CLIENT_SECRET");
  }
  return new KeycloakVaultTokens(
    new KeycloakOidc({ url, realm, clientId, clientSecret, timeoutMs }),
    clientId,
  );
}
