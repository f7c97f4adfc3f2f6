import { createRegistry, type DescFile, type DescService, fromBinary } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Authorization, CheckResponseSchema } from "../gen/envoy/service/auth/v3/external_auth_pb.js";
import {
  AuthService,
  type VerifyTokenRequest,
  VerifyTokenRequestSchema,
  type VerifyTokenResponse,
  VerifyTokenResponseSchema,
} from "../gen/gatehouse/v1/auth_pb.js";
import { RoleService } from "../gen/gatehouse/v1/role_pb.js";
import { ServiceRegistryService } from "../gen/gatehouse/v1/service_registry_pb.js";
import { TokenVaultService } from "../gen/gatehouse/v1/token_vault_pb.js";
import { UserService } from "../gen/gatehouse/v1/user_pb.js";
import { ServerReflection as ReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health, HealthCheckRequestSchema, HealthCheckResponseSchema } from "../gen/health/v1/health_pb.js";
import { type FastJsonRoute, fastJsonRoute } from "../server/connect-json-fast-path.ts";
import { type FastUnaryRoute, fastUnaryRoute } from "../server/grpc-fast-path.ts";
import { checkFactsFromBytes } from "./envoy/check-request.ts";
import type { EnvoyCheck } from "./handlers/authorization-handler.ts";
import { createHealthCheck, createHealthHandler, type HealthSource } from "./handlers/health.ts";
import { createReflectionHandlers } from "./handlers/reflection.ts";
import type { RequestValidator } from "./interceptors/request-validator.ts";

/** The RPC implementations, each complete: a method left out is a compile error. */
export interface Handlers {
  readonly auth: ServiceImpl<typeof AuthService>;
  readonly users: ServiceImpl<typeof UserService>;
  readonly roles: ServiceImpl<typeof RoleService>;
  readonly registry: ServiceImpl<typeof ServiceRegistryService>;
  readonly vault: ServiceImpl<typeof TokenVaultService>;
  readonly authorization: ServiceImpl<typeof Authorization>;
}

/** The services this server offers, in the order reflection lists them. */
export const API_SERVICES: readonly DescService[] = [
  AuthService,
  UserService,
  RoleService,
  ServiceRegistryService,
  TokenVaultService,
  Authorization,
];

const ALL_SERVICES: readonly DescService[] = [...API_SERVICES, Health, ReflectionV1, ReflectionV1Alpha];

export const SERVED_SERVICE_NAMES = ALL_SERVICES.map((service) => service.typeName);

function collectFiles(services: readonly DescService[]): DescFile[] {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    for (const dependency of file.dependencies) visit(dependency);
  };
  for (const service of services) visit(service.file);
  return [...files.values()];
}

export function createRoutes(handlers: Handlers, health: Omit<HealthSource, "serviceNames">) {
  const files = collectFiles(ALL_SERVICES);
  const reflection = createReflectionHandlers(createRegistry(...files), files, SERVED_SERVICE_NAMES);
  const healthHandler = createHealthHandler({ ...health, serviceNames: SERVED_SERVICE_NAMES });
  return (router: ConnectRouter) => {
    router.service(AuthService, handlers.auth);
    router.service(UserService, handlers.users);
    router.service(RoleService, handlers.roles);
    router.service(ServiceRegistryService, handlers.registry);
    router.service(TokenVaultService, handlers.vault);
    router.service(Authorization, handlers.authorization);
    router.service(Health, healthHandler);
    router.service(ReflectionV1, reflection.v1);
    router.service(ReflectionV1Alpha, reflection.v1alpha);
  };
}

/** AuthService.VerifyToken as the fast paths serve it: the request's protovalidate rules, then the handler. */
export type VerifyToken = (request: VerifyTokenRequest) => Promise<VerifyTokenResponse>;

function validated(verifyToken: VerifyToken, validate: RequestValidator): VerifyToken {
  return (request) => {
    validate(VerifyTokenRequestSchema, request);
    return verifyToken(request);
  };
}

/**
 * The mesh's per-request calls, which the gRPC fast path serves over plain
 * gRPC (the same implementations Connect serves for every other protocol):
 * Envoy's Check, health checks, and VerifyToken (API services' door).
 */
export function createFastRoutes(
  check: EnvoyCheck,
  health: Omit<HealthSource, "serviceNames">,
  verifyToken: VerifyToken,
  validate: RequestValidator,
  tracing: boolean,
): FastUnaryRoute[] {
  return [
    fastUnaryRoute({
      path: `/${Authorization.typeName}/${Authorization.method.check.name}`,
      // The authorized request's trace context is read only when tracing is on.
      decode: tracing ? (bytes) => checkFactsFromBytes(bytes, true) : checkFactsFromBytes,
      handle: check,
      output: CheckResponseSchema,
      encodeOnce: true,
      traceCarrier: (facts) =>
        facts.traceparent === undefined
          ? undefined
          : { traceparent: facts.traceparent, tracestate: facts.tracestate },
      decisionCode: (response) => response.status?.code ?? 0,
    }),
    fastUnaryRoute({
      path: `/${Health.typeName}/${Health.method.check.name}`,
      decode: (bytes) => fromBinary(HealthCheckRequestSchema, bytes),
      handle: createHealthCheck({ ...health, serviceNames: SERVED_SERVICE_NAMES }),
      output: HealthCheckResponseSchema,
      encodeOnce: true,
    }),
    fastUnaryRoute({
      path: `/${AuthService.typeName}/${AuthService.method.verifyToken.name}`,
      decode: (bytes) => fromBinary(VerifyTokenRequestSchema, bytes),
      handle: validated(verifyToken, validate),
      output: VerifyTokenResponseSchema,
      // A warm VerifyToken answers with the object it answered before (createVerifyTokenHandler).
      encodeOnce: true,
    }),
  ];
}

/** The hot calls API services make over Connect JSON, which the Connect JSON fast path serves. */
export function createFastJsonRoutes(verifyToken: VerifyToken, validate: RequestValidator): FastJsonRoute[] {
  return [fastJsonRoute(AuthService.method.verifyToken, validated(verifyToken, validate))];
}
