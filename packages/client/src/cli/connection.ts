import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../../../src/gen/gatehouse/v1/auth_pb.js";
import { RoleService } from "../../../../src/gen/gatehouse/v1/role_pb.js";
import { ServiceRegistryService } from "../../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { TokenVaultService } from "../../../../src/gen/gatehouse/v1/token_vault_pb.js";
import { UserService } from "../../../../src/gen/gatehouse/v1/user_pb.js";
import type { CachedCredentials, CredentialsCache } from "./credentials-cache.ts";
import { NotSignedInError } from "./exit-codes.ts";

/** Refresh this long before the access token expires, so a call never starts with a dying token. */
const REFRESH_MARGIN_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface Clients {
  readonly auth: Client<typeof AuthService>;
  readonly users: Client<typeof UserService>;
  readonly roles: Client<typeof RoleService>;
  readonly registry: Client<typeof ServiceRegistryService>;
  readonly vault: Client<typeof TokenVaultService>;
}

export interface ConnectionOptions {
  readonly server: string;
  readonly transport: "connect" | "grpc";
  readonly cache: CredentialsCache;
  readonly timeoutMs?: number;
}

function transportFor(options: ConnectionOptions, interceptors: Interceptor[]): Transport {
  const common = {
    baseUrl: options.server,
    interceptors,
    defaultTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  return options.transport === "grpc"
    ? createGrpcTransport(common)
    : createConnectTransport({ ...common, httpVersion: "1.1" });
}

function clientsOver(transport: Transport): Clients {
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UserService, transport),
    roles: createClient(RoleService, transport),
    registry: createClient(ServiceRegistryService, transport),
    vault: createClient(TokenVaultService, transport),
  };
}

/** Clients without credentials: for login itself. */
export function anonymousClients(options: ConnectionOptions): Clients {
  return clientsOver(transportFor(options, []));
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
  const bearer: Interceptor = (next) => async (request) => {
    current ??= credentials().finally(() => {
      current = undefined;
    });
    request.header.set("authorization", `Bearer ${(await current).accessToken}`);
    return next(request);
  };
  return clientsOver(transportFor(options, [bearer]));
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
