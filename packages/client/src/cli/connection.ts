import { createGatehouseClient, type GatehouseClient } from "../gatehouse-client.ts";
import type { CachedCredentials, CredentialsCache } from "./credentials-cache.ts";
import { NotSignedInError } from "./exit-codes.ts";

/** Refresh this long before the access token expires, so a call never starts with a dying token. */
const REFRESH_MARGIN_MS = 30_000;
const TIMEOUT_MS = 15_000;

export type Clients = GatehouseClient;

export interface ConnectionOptions {
  readonly server: string;
  readonly transport: "connect" | "grpc";
  readonly cache: CredentialsCache;
}

/** Clients without credentials: for login itself. */
export function anonymousClients(options: ConnectionOptions): Clients {
  return createGatehouseClient({
    baseUrl: options.server,
    transport: options.transport,
    timeoutMs: TIMEOUT_MS,
  });
}

/**
 * Clients that send the cached token, refreshing it (and saving the rotated refresh token)
 * when it is about to expire. Without usable credentials, every call fails NotSignedInError.
 */
export function signedInClients(options: ConnectionOptions): Clients {
  const anonymous = anonymousClients(options);
  let current: Promise<CachedCredentials> | undefined;
  const credentials = async (): Promise<CachedCredentials> => {
    const cached = await options.cache.get(options.server);
    if (cached === undefined) throw new NotSignedInError(options.server);
    if (cached.accessTokenExpiresAt - REFRESH_MARGIN_MS > Date.now()) return cached;
    if (cached.refreshToken === "") throw new NotSignedInError(options.server);
    const { tokens } = await anonymous.auth.refresh({ refreshToken: cached.refreshToken });
    if (tokens === undefined) throw new NotSignedInError(options.server);
    const refreshed = { ...cached, ...credentialsFromTokens(tokens) };
    await options.cache.put(options.server, refreshed);
    return refreshed;
  };
  return createGatehouseClient({
    baseUrl: options.server,
    transport: options.transport,
    timeoutMs: TIMEOUT_MS,
    credentials: {
      type: "bearer",
      // One refresh at a time, however many calls a command makes at once.
      token: async () => {
        current ??= credentials().finally(() => {
          current = undefined;
        });
        return (await current).accessToken;
      },
    },
  });
}

export function credentialsFromTokens(tokens: {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}): Pick<CachedCredentials, "accessToken" | "refreshToken" | "accessTokenExpiresAt"> {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    accessTokenExpiresAt: Date.now() + tokens.expiresIn * 1000,
  };
}
