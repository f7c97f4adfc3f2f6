import type { KeycloakProviderConfig, LocalProviderConfig } from "../config/config.ts";

/**
 * What the start-up log says about the identity provider: an allow-list of
 * settings an operator checks, never the key encryption key or the client
 * secret. An allow-list, not the config minus secrets, so that a secret added
 * to the config later stays out of the log unless someone names it here.
 */
export function providerSummary(
  provider: LocalProviderConfig | KeycloakProviderConfig,
): Record<string, string | number | boolean> {
  if (provider.kind === "local") {
    return {
      kind: provider.kind,
      keyEncryptionKeySource: provider.keyEncryptionKey.kind,
      signingKeyRotationDays: provider.signingKeyRotationDays,
      argon2MemoryKib: provider.argon2.memoryKib,
      argon2Iterations: provider.argon2.iterations,
    };
  }
  return {
    kind: provider.kind,
    url: provider.url,
    realm: provider.realm,
    issuer: provider.issuer ?? `${provider.url}/realms/${provider.realm}`,
    clientId: provider.clientId,
    verifyMode: provider.verifyMode,
    caFile: provider.caFile !== undefined,
  };
}
