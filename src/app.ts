import { create } from "@bufbuild/protobuf";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DataSource } from "typeorm";
import { MemoryCoordinationStore } from "./cache/memory-coordination-store.ts";
import { RedisCoordinationStore } from "./cache/redis-coordination-store.ts";
import type { Config } from "./config/config.ts";
import { AccessDirectory } from "./domain/decision/access-directory.ts";
import { ChangeFeed } from "./domain/decision/change-feed.ts";
import { DecisionAuthenticator } from "./domain/decision/decision-authenticator.ts";
import { DecisionEngine } from "./domain/decision/decision-engine.ts";
import { FeedAccessChangeNotifier } from "./domain/decision/feed-access-change-notifier.ts";
import { ServiceDirectory } from "./domain/decision/service-directory.ts";
import { GrantService } from "./domain/grants/grant-service.ts";
import type { CoordinationStore } from "./domain/ports/coordination-store.ts";
import { ServiceAccountAdmin } from "./domain/registry/service-account-admin.ts";
import { ServiceRegistry } from "./domain/registry/service-registry.ts";
import { RevocationRegistry } from "./domain/revocation/revocation-registry.ts";
import type { VaultTokenProvider } from "./domain/vault/vault-token-provider.ts";
import { UserSchema } from "./gen/gatehouse/v1/types_pb.js";
import { createIdentityModule } from "./identity/identity-module.ts";
import { createVaultHandlers, loadVaultKeyring } from "./identity/vault/vault-module.ts";
import type { Logger } from "./observability/logger.ts";
import { Metrics } from "./observability/metrics.ts";
import { SqlAccessRepository } from "./persistence/access-repository.ts";
import { ChangeLogRepository } from "./persistence/change-log-repository.ts";
import { openDataSource } from "./persistence/data-source.ts";
import { SqlGrantRepository } from "./persistence/grant-repository.ts";
import { SqlServiceRepository } from "./persistence/service-repository.ts";
import { Sql } from "./persistence/sql.ts";
import { kPeer } from "./rpc/context.ts";
import { createAuthorizationHandler, createEnvoyCheck } from "./rpc/handlers/authorization-handler.ts";
import { createServiceAccountGrantHandlers, createUserGrantHandlers } from "./rpc/handlers/grant-handlers.ts";
import { createRegistryHandler } from "./rpc/handlers/registry-handler.ts";
import { createVerifyTokenHandler } from "./rpc/handlers/verify-token.ts";
import { authenticationInterceptor } from "./rpc/interceptors/authentication.ts";
import { errorMappingInterceptor, toConnectError } from "./rpc/interceptors/error-mapping.ts";
import { CLIENT_CODES, requestContextInterceptor } from "./rpc/interceptors/request-context.ts";
import { validationInterceptor } from "./rpc/interceptors/validation.ts";
import { toUserMessage } from "./rpc/mappers/user-mapper.ts";
import { createFastRoutes, createRoutes, type Handlers } from "./rpc/routes.ts";
import { clientAddress } from "./server/client-address.ts";
import { createGrpcFastPath } from "./server/grpc-fast-path.ts";
import { type HttpHandler, type RunningServer, startHttpServer } from "./server/http-server.ts";
import { REQUEST_COMPRESSIONS } from "./server/request-compression.ts";
import { RESET_PASSWORD_PATH, resetPasswordPage } from "./server/reset-password-page.ts";

export interface Gatehouse {
  readonly server: RunningServer;
  readonly dataSource: DataSource;
  readonly store: CoordinationStore;
  /** Drains in-flight calls, then closes the server, the database and Redis. */
  close(): Promise<void>;
}

/** Test seams; production passes none. */
export interface GatehouseHooks {
  /** Wraps the token vault's provider port (e.g. to count provider round trips). */
  readonly wrapVaultTokens?: (tokens: VaultTokenProvider) => VaultTokenProvider;
}

const READINESS_INTERVAL_MS = 5000;
/** The largest request message any protocol accepts. */
const READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The composition root: config → database and coordination store →
 * repositories and providers → domain services → handlers → server.
 * main.ts calls it; wire tests call it with port 0.
 */
export async function startGatehouse(
  config: Config,
  logger: Logger,
  hooks: GatehouseHooks = {},
): Promise<Gatehouse> {
  const dataSource = await openDataSource(config.database);
  // Refuse to start when stored vault entries need a key VAULT_KEYS lacks.
  const vaultKeyring = await loadVaultKeyring(config, dataSource).catch(async (error: unknown) => {
    await dataSource.destroy();
    throw error;
  });
  const store = await openCoordinationStore(config, logger);

  let databaseReady = true;
  const checkDatabase = async () => {
    try {
      await dataSource.query("SELECT 1");
      databaseReady = true;
    } catch (error) {
      if (databaseReady) logger.error({ err: error }, "database unreachable");
      databaseReady = false;
    }
    return databaseReady;
  };
  const readinessTimer = setInterval(checkDatabase, READINESS_INTERVAL_MS);
  readinessTimer.unref();

  let beginShutdown!: () => void;
  const shuttingDown = new Promise<void>((resolve) => {
    beginShutdown = resolve;
  });
  let stopping = false;

  const sql = new Sql(dataSource, { embedded: config.database.url === undefined });
  const metrics = new Metrics();

  // Decision state shared by every replica: revocations and access changes go through the
  // change feed (database first, then Redis pub/sub; polled while Redis is down).
  const feed = new ChangeFeed(
    new ChangeLogRepository(sql),
    store,
    logger.child({ component: "change-feed" }),
    {
      pollIntervalMs: config.decision.feedPollMs,
      degradedPollIntervalMs: config.decision.degradedFeedPollMs,
      onDegradedChange: (degraded) => {
        metrics.changeFeedDegraded.set(degraded ? 1 : 0);
        if (degraded) metrics.changeFeedDegradedTotal.inc();
      },
    },
  );
  const longestTokenLifetimeSeconds =
    config.identity.provider === "keycloak"
      ? config.keycloak.maxTokenLifetimeSeconds
      : config.identity.accessTokenTtlSeconds;
  const revocations = new RevocationRegistry(
    feed,
    (longestTokenLifetimeSeconds + config.decision.clockSkewSeconds) * 1000,
  );
  await feed.start();
  const accessChanges = new FeedAccessChangeNotifier(feed);
  const grantRepository = new SqlGrantRepository(sql);
  let grants: GrantService | undefined;
  const identity = await createIdentityModule({
    config,
    logger,
    dataSource,
    store,
    revocations,
    changes: accessChanges,
    grants: { effectiveGrants: (userId) => grants!.effectiveGrants(userId) },
  });
  const permissionCheck = identity.accessControl.check;
  const audit = (record: Parameters<typeof identity.auditLog.record>[0]) => identity.auditLog.record(record);
  grants = new GrantService({
    repository: grantRepository,
    accessChanges,
    requirePermission: permissionCheck,
    audit,
  });

  const serviceRepository = new SqlServiceRepository(sql);
  const engine = new DecisionEngine(
    {
      verifier: identity.provider,
      revocations,
      access: new AccessDirectory(
        new SqlAccessRepository(sql, grantRepository, (id) => identity.userRepository.getUser(id)),
        feed,
        {
          maxEntries: config.decision.subjectCacheSize,
          ttlMs: config.decision.subjectCacheTtlSeconds * 1000,
        },
      ),
      services: new ServiceDirectory(() => serviceRepository.all(), config.envoy.hostServices, feed),
      changes: feed,
    },
    {
      tokenCacheSize: config.decision.tokenCacheSize,
      clockSkewSeconds: config.decision.clockSkewSeconds,
      onDecision: (decision) => metrics.countDecision(decision.outcome, decision.reason ?? ""),
    },
  );
  metrics.onCollect(() => {
    metrics.cachedTokens.set(engine.cachedTokens());
    metrics.revocationsHeld.set(revocations.size());
  });
  const registry = new ServiceRegistry({
    repository: serviceRepository,
    changes: accessChanges,
    requirePermission: permissionCheck,
    audit,
  });
  const serviceAccounts = new ServiceAccountAdmin({
    accounts: identity.serviceAccounts,
    grants,
    requirePermission: permissionCheck,
    audit,
  });

  const envoyCheck = createEnvoyCheck(engine, config.envoy);
  const healthSource = { isServing: () => databaseReady && !stopping, shuttingDown };
  const handlers: Handlers = {
    auth: {
      ...identity.handlers.auth,
      verifyToken: createVerifyTokenHandler(engine, (user) => create(UserSchema, toUserMessage(user))),
    },
    users: { ...identity.handlers.users, ...createUserGrantHandlers(grants) },
    roles: identity.handlers.roles,
    registry: {
      ...createRegistryHandler(registry, serviceAccounts),
      ...createServiceAccountGrantHandlers(grants),
    },
    vault: createVaultHandlers({
      config,
      dataSource,
      keyring: vaultKeyring,
      identity,
      revocations,
      changes: accessChanges,
      metrics: metrics.registry,
      wrapTokens: hooks.wrapVaultTokens,
    }),
    authorization: createAuthorizationHandler(envoyCheck),
  };

  const rpcHandler = connectNodeAdapter({
    routes: createRoutes(handlers, healthSource),
    interceptors: [
      requestContextInterceptor(logger),
      errorMappingInterceptor(),
      validationInterceptor(),
      identity.rateLimitInterceptor,
      authenticationInterceptor(new DecisionAuthenticator(engine)),
    ],
    contextValues: (request) =>
      createContextValues().set(kPeer, {
        ip: clientAddress(
          request.socket.remoteAddress,
          request.headers["x-forwarded-for"],
          config.server.trustedProxyHops,
        ),
        userAgent: String(request.headers["user-agent"] ?? ""),
      }),
    // Browsers on HTTP/1.1 and sidecars on HTTP/2 both stream; cap request bodies.
    readMaxBytes: READ_MAX_BYTES,
    // Proto3 JSON as specified: a misspelt field is an error (INVALID_ARGUMENT naming
    // it), not silently dropped; and `false`, `0` and "" are written out for plain-JSON callers.
    jsonOptions: { ignoreUnknownFields: false, alwaysEmitImplicit: true },
    // Undecodable compressed bytes are INVALID_ARGUMENT, never INTERNAL.
    acceptCompression: [...REQUEST_COMPRESSIONS],
  }) as HttpHandler;
  const grpcFastPath = config.server.grpcFastPath
    ? createGrpcFastPath({
        routes: createFastRoutes(envoyCheck, healthSource),
        readMaxBytes: READ_MAX_BYTES,
        logger,
        toConnectError,
        clientCodes: CLIENT_CODES,
      })
    : undefined;

  const json =
    (status: number, body: unknown): HttpHandler =>
    (_request, response) => {
      response.statusCode = status;
      response.setHeader("content-type", "application/json");
      response.setHeader("cache-control", "no-store");
      response.end(JSON.stringify(body));
    };
  const plainRoutes = new Map<string, HttpHandler>([
    ...identity.plainRoutes,
    [RESET_PASSWORD_PATH, resetPasswordPage()],
    ["/healthz", (request, response) => json(200, { status: "ok" })(request, response)],
    [
      "/metrics",
      (_request, response) => {
        void metrics.render().then((text) => {
          response.setHeader("content-type", metrics.registry.contentType);
          response.end(text);
        });
      },
    ],
    [
      "/readyz",
      (request, response) => {
        void checkDatabase().then((ready) =>
          json(ready && !stopping ? 200 : 503, {
            status: ready && !stopping ? "ready" : "not ready",
            database: ready ? "ok" : "unreachable",
            coordination: { kind: store.kind, healthy: store.isHealthy() },
          })(request, response),
        );
      },
    ],
  ]);

  const server = await startHttpServer({ ...config.server, logger, plainRoutes, rpcHandler, grpcFastPath });

  let closing: Promise<void> | undefined;
  return {
    server,
    dataSource,
    store,
    close() {
      closing ??= (async () => {
        stopping = true;
        beginShutdown();
        clearInterval(readinessTimer);
        await server.close();
        await feed.close();
        revocations.close();
        await identity.close();
        await store.close();
        await dataSource.destroy();
      })();
      return closing;
    },
  };
}

async function openCoordinationStore(config: Config, logger: Logger): Promise<CoordinationStore> {
  if (config.redis.url === undefined) return new MemoryCoordinationStore();
  const store = new RedisCoordinationStore(
    config.redis.url,
    config.redis.keyPrefix,
    logger.child({ component: "redis" }),
  );
  await store.connect();
  return store;
}
