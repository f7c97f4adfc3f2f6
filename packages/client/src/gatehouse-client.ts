import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { type Credentials, credentialsInterceptor } from "./credentials.ts";
import { failoverTransport, type RetryOptions } from "./failover-transport.ts";
import { AuthService } from "./gen/gatehouse/v1/auth_pb.js";
import { RoleService } from "./gen/gatehouse/v1/role_pb.js";
import { ServiceRegistryService } from "./gen/gatehouse/v1/service_registry_pb.js";
import { TokenVaultService } from "./gen/gatehouse/v1/token_vault_pb.js";
import { UserService } from "./gen/gatehouse/v1/user_pb.js";

/** Options of {@link createGatehouseClient}. */
export interface GatehouseClientOptions {
  /**
   * Gatehouse's URL, e.g. `https://gatehouse.internal:8443`; or several
   * replicas, tried in turn when one answers UNAVAILABLE.
   */
  readonly baseUrl: string | readonly string[];
  /** `grpc` (HTTP/2) or `connect` (Connect protocol, binary, over HTTP/2). Default `connect`. */
  readonly transport?: "grpc" | "connect";
  /** How calls authenticate; none for public calls only (Login, VerifyToken…). */
  readonly credentials?: Credentials;
  /** The deadline of a unary call unless the call sets `timeoutMs` (default 10 s). Streams have none. */
  readonly timeoutMs?: number;
  /** Retries of unary calls answered UNAVAILABLE (the only code retried); `false`: none. */
  readonly retry?: RetryOptions | false;
  /** More interceptors, run after the credentials one. */
  readonly interceptors?: readonly Interceptor[];
  /** Node's TLS and HTTP/2 options (a private CA, client certificates). */
  readonly nodeOptions?: Parameters<typeof createGrpcTransport>[0]["nodeOptions"];
}

/** Typed clients of Gatehouse's five services, over one transport. */
export interface GatehouseClient {
  /** Sign-in, tokens (VerifyToken, ClientCredentialsToken), WatchChanges, the caller's profile. */
  readonly auth: Client<typeof AuthService>;
  /** Users, their roles and grants, Keycloak sync, the audit log. */
  readonly users: Client<typeof UserService>;
  /** RBAC roles and business roles. */
  readonly roles: Client<typeof RoleService>;
  /** Registered services and service accounts. */
  readonly services: Client<typeof ServiceRegistryService>;
  /** The token vault (stored provider tokens, sessions). */
  readonly vault: Client<typeof TokenVaultService>;
  /** The transport under them, for clients of other descriptors. */
  readonly transport: Transport;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Clients for every Gatehouse service. With client credentials, a token is
 * obtained and renewed by itself; unary calls answered UNAVAILABLE are
 * retried with backoff, on the next replica when several are given; every
 * unary call has a deadline unless it sets its own.
 *
 * @example
 * const gatehouse = createGatehouseClient({
 *   baseUrl: "http://gatehouse:8080",
 *   transport: "grpc",
 *   credentials: { type: "client_credentials", clientId, clientSecret },
 * });
 * const { user } = await gatehouse.auth.verifyToken({ token, serviceSlug: "billing" });
 */
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const urls = typeof options.baseUrl === "string" ? [options.baseUrl] : [...options.baseUrl];
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retry = options.retry === false ? { maxAttempts: 1 } : (options.retry ?? {});
  const make = (interceptors: Interceptor[]) =>
    failoverTransport(
      urls.map((baseUrl) => {
        const common = {
          baseUrl,
          defaultTimeoutMs: timeoutMs,
          interceptors,
          nodeOptions: options.nodeOptions,
        };
        return options.transport === "grpc"
          ? createGrpcTransport(common)
          : createConnectTransport({ ...common, httpVersion: "2", useBinaryFormat: true });
      }),
      retry,
    );
  // The token requests go out on a transport of their own, without credentials.
  const anonymous = createClient(AuthService, make([...(options.interceptors ?? [])]));
  const interceptors = [...(options.interceptors ?? [])];
  if (options.credentials !== undefined) {
    interceptors.unshift(
      credentialsInterceptor(options.credentials, async ({ clientId, clientSecret, scope }) => {
        const { tokens } = await anonymous.clientCredentialsToken({ clientId, clientSecret, scope });
        if (tokens === undefined) throw new Error("ClientCredentialsToken answered no tokens");
        return { accessToken: tokens.accessToken, expiresInSeconds: tokens.expiresIn };
      }),
    );
  }
  const transport = make(interceptors);
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UserService, transport),
    roles: createClient(RoleService, transport),
    services: createClient(ServiceRegistryService, transport),
    vault: createClient(TokenVaultService, transport),
    transport,
  };
}
