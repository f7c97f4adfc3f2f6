import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DataSource } from "typeorm";
import { MemoryCoordinationStore } from "./cache/memory-coordination-store.ts";
import { RedisCoordinationStore } from "./cache/redis-coordination-store.ts";
import type { Config } from "./config/config.ts";
import type { CoordinationStore } from "./domain/ports/coordination-store.ts";
import { SharedRevocationStore } from "./domain/revocation/shared-revocation-store.ts";
import { createIdentityModule } from "./identity/identity-module.ts";
import type { Logger } from "./observability/logger.ts";
import { openDataSource } from "./persistence/data-source.ts";
import { kPeer } from "./rpc/context.ts";
import { authenticationInterceptor } from "./rpc/interceptors/authentication.ts";
import { errorMappingInterceptor } from "./rpc/interceptors/error-mapping.ts";
import { requestContextInterceptor } from "./rpc/interceptors/request-context.ts";
import { validationInterceptor } from "./rpc/interceptors/validation.ts";
import { createRoutes, type Handlers } from "./rpc/routes.ts";
import { type HttpHandler, type RunningServer, startHttpServer } from "./server/http-server.ts";

export interface Gatehouse {
  readonly server: RunningServer;
  readonly dataSource: DataSource;
  readonly store: CoordinationStore;
  /** Drains in-flight calls, then closes the server, the database and Redis. */
  close(): Promise<void>;
}

const READINESS_INTERVAL_MS = 5000;

/**
 * The composition root: config → database and coordination store →
 * repositories and providers → domain services → handlers → server.
 * main.ts calls it; wire tests call it with port 0.
 */
export async function startGatehouse(config: Config, logger: Logger): Promise<Gatehouse> {
  const dataSource = await openDataSource(config.database);
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

  const revocations = new SharedRevocationStore(
    store,
    (config.identity.accessTokenTtlSeconds + config.decision.clockSkewSeconds) * 1000,
  );
  const identity = await createIdentityModule({ config, logger, dataSource, store, revocations });

  const handlers: Handlers = {
    auth: identity.handlers.auth,
    users: identity.handlers.users,
    roles: identity.handlers.roles,
    registry: {},
    vault: {},
    authorization: {},
  };

  const rpcHandler = connectNodeAdapter({
    routes: createRoutes(handlers, { isServing: () => databaseReady && !stopping, shuttingDown }),
    interceptors: [
      requestContextInterceptor(logger),
      errorMappingInterceptor(),
      validationInterceptor(),
      identity.rateLimitInterceptor,
      authenticationInterceptor(identity.authenticator),
    ],
    contextValues: (request) =>
      createContextValues().set(kPeer, {
        ip: request.socket.remoteAddress ?? "",
        userAgent: String(request.headers["user-agent"] ?? ""),
      }),
    // Browsers on HTTP/1.1 and sidecars on HTTP/2 both stream; cap request bodies.
    readMaxBytes: 4 * 1024 * 1024,
  }) as HttpHandler;

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
    ["/healthz", (request, response) => json(200, { status: "ok" })(request, response)],
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

  const server = await startHttpServer({ ...config.server, logger, plainRoutes, rpcHandler });

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
