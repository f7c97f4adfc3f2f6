import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { DataSource } from "typeorm";
import type { Config } from "../config/config.ts";
import { ChangeFeed } from "../domain/change-feed/change-feed.ts";
import { FeedAccessChangeNotifier } from "../domain/change-feed/feed-access-change-notifier.ts";
import { checkCallerPolicy } from "../domain/decision/check-callers.ts";
import { DecisionAuthenticator } from "../domain/decision/decision-authenticator.ts";
import { BackchannelLogoutDispatcher } from "../domain/oidc/backchannel-logout-dispatcher.ts";
import { registerConsoleClient } from "../domain/oidc/console-client.ts";
import type { OidcClientDirectory } from "../domain/oidc/oidc-client.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import { RateLimiter } from "../domain/rate-limit/rate-limiter.ts";
import { RevocationRegistry } from "../domain/revocation/revocation-registry.ts";
import { bootstrapAdministrator } from "../domain/users/bootstrap-admin.ts";
import { requireKeysForStoredEntries } from "../domain/vault/key-rotation.ts";
import { VaultKeyring } from "../domain/vault/vault-keyring.ts";
import type { VaultTokenProvider } from "../domain/vault/vault-token-provider.ts";
import { LocalIdentityProvider } from "../identity/local/local-identity-provider.ts";
import { FetchLogoutTokenSender } from "../identity/local/logout-token-sender.ts";
import { SmtpMailer, UnconfiguredMailer } from "../mail/smtp-mailer.ts";
import type { Logger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { createTracing } from "../observability/tracing.ts";
import { kPeer } from "../rpc/context.ts";
import { createEnvoyCheck } from "../rpc/handlers/authorization-handler.ts";
import { createVerifyTokenHandler } from "../rpc/handlers/verify-token.ts";
import { authenticationInterceptor } from "../rpc/interceptors/authentication.ts";
import { errorMappingInterceptor, toConnectError } from "../rpc/interceptors/error-mapping.ts";
import { rateLimitInterceptor } from "../rpc/interceptors/rate-limit.ts";
import { CLIENT_CODES, requestContextInterceptor } from "../rpc/interceptors/request-context.ts";
import { createRequestValidator } from "../rpc/interceptors/request-validator.ts";
import { rpcMetricsInterceptor } from "../rpc/interceptors/rpc-metrics.ts";
import { tracingInterceptor } from "../rpc/interceptors/tracing.ts";
import { validationInterceptor } from "../rpc/interceptors/validation.ts";
import { createFastJsonRoutes, createFastRoutes, createRoutes } from "../rpc/routes.ts";
import { clientAddress } from "../server/client-address.ts";
import { createConnectJsonFastPath } from "../server/connect-json-fast-path.ts";
import { consoleAppRoutes, type FrontendConfig } from "../server/console-app.ts";
import { createGrpcFastPath, type GrpcFastPath } from "../server/grpc-fast-path.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "../server/http-handler.ts";
import { type RunningServer, startHttpServer } from "../server/http-server.ts";
import { startManagementServer } from "../server/management-server.ts";
import { opsRoutes } from "../server/ops-routes.ts";
import { CsrfGuard } from "../server/pages/csrf.ts";
import { PageShell } from "../server/pages/page-shell.ts";
import { peerSpiffeId, streamPeerSpiffeId } from "../server/peer-spiffe-id.ts";
import { DatabaseReadiness } from "../server/readiness.ts";
import { REQUEST_COMPRESSIONS } from "../server/request-compression.ts";
import { hostedPageRoutes } from "../web/hosted-page-routes.ts";
import { sharedCsrfKeys } from "../web/shared-csrf-key.ts";
import { openCoordinationStore } from "./coordination.ts";
import { createAccessServices, createDomainServices } from "./domain-services.ts";
import { createHandlers } from "./handlers.ts";
import { createIdentity } from "./identity.ts";
import { oidcTokenEndpoints } from "./oidc-token-endpoints.ts";
import { openIdProviderRoutes } from "./openid-provider.ts";
import { openStorage } from "./storage.ts";

export interface Gatehouse {
  readonly server: RunningServer;
  /** The management port's server (MANAGEMENT_PORT), when configured. */
  readonly management: RunningServer | undefined;
  readonly dataSource: DataSource;
  readonly store: CoordinationStore;
  /** The OpenID Provider's registered clients (for tools and tests that check a client's secret). */
  readonly oidcClients: OidcClientDirectory;
  /** Drains in-flight calls, then closes the server, the database and Redis. */
  close(): Promise<void>;
}

/** Test seams; production passes none. */
export interface GatehouseHooks {
  /** Wraps the token vault's provider port (e.g. to count provider round trips). */
  readonly wrapVaultTokens?: (tokens: VaultTokenProvider) => VaultTokenProvider;
  /** Hands over the built-in provider (e.g. to issue a relying party's tokens without the browser flow). */
  readonly onLocalProvider?: (provider: LocalIdentityProvider) => void;
}

/** The pg Pool under TypeORM's PostgreSQL driver (absent on the embedded database). */
function postgresPool(
  dataSource: DataSource,
): { totalCount: number; idleCount: number; waitingCount: number } | undefined {
  const master = (dataSource.driver as { master?: { totalCount?: unknown } }).master;
  return typeof master?.totalCount === "number"
    ? (master as { totalCount: number; idleCount: number; waitingCount: number })
    : undefined;
}

/** The largest request message any protocol accepts. */
const READ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The composition root, the only place that builds adapters: config →
 * database and repositories (each once) → coordination store and change feed
 * → identity provider → domain services → handlers → server. main.ts calls
 * it; tests call it with port 0.
 */
export async function startGatehouse(
  config: Config,
  logger: Logger,
  hooks: GatehouseHooks = {},
): Promise<Gatehouse> {
  const tracing = config.tracing === undefined ? undefined : createTracing(config.tracing);
  const storage = await openStorage(config.database, config.timeouts, tracing);
  const { dataSource, repositories } = storage;
  // Refuse to start when stored vault entries need a key VAULT_KEYS lacks.
  const vaultKeyring = new VaultKeyring(config.vault.keys, config.vault.activeKeyId);
  await requireKeysForStoredEntries(vaultKeyring, repositories.vault).catch(async (error: unknown) => {
    await storage.close();
    throw error;
  });
  const store = await openCoordinationStore(config.redis, config.timeouts.redisCommandMs, logger, tracing);
  const metrics = new Metrics();

  // Decision state shared by every replica: revocations and access changes go through the
  // change feed (database first, then Redis pub/sub; polled while Redis is down).
  const feed = new ChangeFeed(repositories.changeLog, store, logger.child({ component: "change-feed" }), {
    pollIntervalMs: config.decision.feedPollMs,
    degradedPollIntervalMs: config.decision.degradedFeedPollMs,
    onDegradedChange: (degraded) => {
      metrics.changeFeedDegraded.set(degraded ? 1 : 0);
      if (degraded) metrics.changeFeedDegradedTotal.inc();
    },
  });
  const revocations = new RevocationRegistry(
    feed,
    (config.identity.longestAccessTokenSeconds + config.decision.clockSkewSeconds) * 1000,
  );
  await feed.start();
  const changes = new FeedAccessChangeNotifier(feed);

  const accessServices = createAccessServices(repositories, logger, config.identity.adminSecondFactor);
  const identity = await createIdentity({
    config,
    logger,
    repositories,
    store,
    revocations,
    access: accessServices.access,
    audit: accessServices.audit,
    changes,
    metrics,
    tracing,
  });
  if (identity.provider instanceof LocalIdentityProvider) hooks.onLocalProvider?.(identity.provider);
  const mailer =
    config.smtp.url === undefined
      ? new UnconfiguredMailer(logger.child({ component: "mail" }))
      : new SmtpMailer(config.smtp.url, config.smtp.from, logger.child({ component: "mail" }));
  const services = createDomainServices({
    config,
    repositories,
    accessServices,
    provider: identity.provider,
    signingKeyRotation: identity.signingKeyRotation,
    vaultTokens: hooks.wrapVaultTokens?.(identity.vaultTokens) ?? identity.vaultTokens,
    vaultKeyring,
    feed,
    revocations,
    changes,
    mailer,
    store,
    logger,
    metrics,
  });
  metrics.onCollect(() => {
    metrics.cachedTokens.set(services.engine.cachedTokens());
    metrics.cachedSubjects.set(services.engine.cachedSubjects());
    metrics.revocationsHeld.set(revocations.size());
    metrics.changeFeedLag.set(feed.lagSeconds());
    metrics.coordinationStoreUp.set(store.isHealthy() ? 1 : 0);
    const pool = postgresPool(dataSource);
    if (pool !== undefined) {
      metrics.databasePoolConnections.set({ state: "idle" }, pool.idleCount);
      metrics.databasePoolConnections.set({ state: "active" }, pool.totalCount - pool.idleCount);
      metrics.databasePoolWaiting.set(pool.waitingCount);
    }
  });

  // OIDC Back-Channel Logout to the relying parties of a session that ended (any door: the feed).
  const backchannelLogout =
    identity.logoutTokens === undefined
      ? undefined
      : new BackchannelLogoutDispatcher({
          sessions: repositories.sessionClients,
          clients: services.oidcClientDirectory,
          signer: identity.logoutTokens,
          sender: new FetchLogoutTokenSender(),
          store,
          issuer: config.identity.issuer,
          warn: (message, details) => logger.warn({ component: "backchannel-logout", ...details }, message),
        });
  if (backchannelLogout !== undefined) feed.onChange((event) => backchannelLogout.onChange(event));
  await services.roles.ensureBuiltInRoles();
  // The console signs in through the built-in OpenID Provider as a first-party public client.
  await registerConsoleClient(config.identity.issuer, repositories.oidcClients);
  if (config.identity.bootstrapAdmin !== undefined) {
    await bootstrapAdministrator(config.identity.bootstrapAdmin, {
      users: repositories.users,
      accounts: services.accounts,
      passwordPolicy: services.passwordPolicy,
      logger,
    });
  }

  let stopping = false;
  let beginShutdown!: () => void;
  const shuttingDown = new Promise<void>((resolve) => {
    beginShutdown = resolve;
  });
  const readiness = new DatabaseReadiness(
    () => dataSource.query("SELECT 1"),
    config.timeouts.readinessMs,
    logger.child({ component: "readiness" }),
  );
  readiness.start();
  metrics.onCollect(() => metrics.databaseUp.set(readiness.ready ? 1 : 0));
  const tlsConfig = config.server.tls;
  if (tlsConfig !== undefined) {
    // Read from the file at each scrape, so it follows the reloads (src/server/tls-credentials.ts).
    metrics.onCollect(() => {
      try {
        const certificate = new X509Certificate(readFileSync(tlsConfig.certFile));
        metrics.tlsCertificateExpiry.set(Date.parse(certificate.validTo) / 1000);
      } catch {
        // Mid-rotation or unreadable: keep the last value; the reload logs the problem.
      }
    });
  }
  const healthSource = { isServing: () => readiness.ready && !stopping, shuttingDown };
  // WatchChanges streams would hold a draining replica open until the grace period: end them.
  void shuttingDown.then(() => services.changeStream.close());

  const envoyCheck = createEnvoyCheck(services.engine, config.envoy);
  // One limiter for the RPCs and the hosted forms: a form spends its RPC's budget.
  const rateLimiter = new RateLimiter(store, logger.child({ component: "rate-limit" }), {
    onRejected: () => metrics.rateLimitRejections.inc(),
  });
  const validate = createRequestValidator();
  // Proto3 JSON as specified: a misspelt field is an error (INVALID_ARGUMENT naming
  // it), not silently dropped; and `false`, `0` and "" are written out for plain-JSON callers.
  const jsonOptions = { ignoreUnknownFields: false, alwaysEmitImplicit: true };
  const checkCallers =
    tlsConfig?.checkCallers === undefined ? undefined : checkCallerPolicy(tlsConfig.checkCallers);
  // The calling workload's SPIFFE id, read only when client certificates are asked for.
  const readsPeerCertificate = tlsConfig !== undefined && tlsConfig.clientAuth !== "none";
  const rpcHandler = connectNodeAdapter({
    routes: createRoutes(
      createHandlers(services, envoyCheck, identity.keycloakSync, checkCallers),
      healthSource,
    ),
    interceptors: [
      rpcMetricsInterceptor(metrics.rpc),
      ...(tracing === undefined ? [] : [tracingInterceptor(tracing)]),
      requestContextInterceptor(logger),
      errorMappingInterceptor(),
      validationInterceptor(validate),
      rateLimitInterceptor(rateLimiter, config.rateLimit),
      authenticationInterceptor(new DecisionAuthenticator(services.engine)),
    ],
    contextValues: (request) =>
      createContextValues().set(kPeer, {
        ip: clientAddress(
          request.socket.remoteAddress,
          request.headers["x-forwarded-for"],
          config.server.trustedProxyHops,
        ),
        userAgent: String(request.headers["user-agent"] ?? ""),
        spiffeId: readsPeerCertificate ? peerSpiffeId(request) : undefined,
      }),
    // Browsers on HTTP/1.1 and sidecars on HTTP/2 both stream; cap request bodies.
    readMaxBytes: READ_MAX_BYTES,
    jsonOptions,
    // Undecodable compressed bytes are INVALID_ARGUMENT, never INTERNAL.
    acceptCompression: [...REQUEST_COMPRESSIONS],
  }) as HttpHandler;
  // With tracing on the fast paths make the spans Connect's tracing interceptor makes (Check's
  // parent from the authorized request's traceparent); off, no tracing code runs on them.
  const verifyToken = createVerifyTokenHandler(services.engine);
  const outcomes = { logger, toConnectError, clientCodes: CLIENT_CODES, rpcMetrics: metrics.rpc };
  const grpcFastPath = config.server.grpcFastPath
    ? createGrpcFastPath({
        routes: createFastRoutes(envoyCheck, healthSource, verifyToken, validate, tracing !== undefined),
        readMaxBytes: READ_MAX_BYTES,
        tracing,
        checkCaller: readsPeerCertificate ? streamPeerSpiffeId : undefined,
        ...outcomes,
      })
    : undefined;
  // It makes no spans: with tracing on, VerifyToken over Connect JSON goes through Connect.
  const jsonFastPath =
    config.server.grpcFastPath && tracing === undefined
      ? createConnectJsonFastPath({
          routes: createFastJsonRoutes(verifyToken, validate),
          readMaxBytes: READ_MAX_BYTES,
          jsonOptions,
          acceptCompression: REQUEST_COMPRESSIONS,
          ...outcomes,
        })
      : undefined;
  // A caller Check does not allow goes on to Connect, whose handler refuses it (one place says no).
  const streamFastPath: GrpcFastPath | undefined =
    grpcFastPath === undefined || checkCallers === undefined
      ? grpcFastPath
      : (stream, headers) => checkCallers(streamPeerSpiffeId(stream)) && grpcFastPath(stream, headers);
  const fastPath =
    jsonFastPath === undefined || checkCallers === undefined
      ? jsonFastPath
      : (request: HttpRequest, response: HttpResponse) =>
          checkCallers(peerSpiffeId(request)) && jsonFastPath(request, response);
  const ops = opsRoutes({ readiness, stopping: () => stopping, coordination: store, metrics });
  // With a management port, probes and metrics are served there only.
  const management =
    config.server.managementPort === undefined
      ? undefined
      : await startManagementServer({
          host: config.server.host,
          port: config.server.managementPort,
          routes: ops,
          logger,
        });
  // The hosted pages' layout, headers and CSRF guard (the OpenID Provider's pages use it too).
  const pages = new PageShell(
    config.branding,
    new CsrfGuard(sharedCsrfKeys(store), { secure: config.identity.issuer.startsWith("https:") }),
  );
  const plainRoutes = new Map<string, HttpHandler>([
    ...identity.plainRoutes,
    ...pages.routes(),
    ...hostedPageRoutes({
      shell: pages,
      logger: logger.child({ component: "pages" }),
      auth: services.auth,
      passwordPolicy: services.passwordPolicy,
      limiter: rateLimiter,
      rateLimit: config.rateLimit,
      trustedProxyHops: config.server.trustedProxyHops,
      signupEnabled: config.identity.signupEnabled,
    }),
    ...(identity.openIdProvider === undefined
      ? []
      : openIdProviderRoutes({
          config,
          parts: identity.openIdProvider,
          services,
          clients: services.oidcClientDirectory,
          users: repositories.users,
          serviceRepository: repositories.services,
          store,
          audit: accessServices.audit,
          pages,
          limiter: rateLimiter,
          logger,
        })),
    ...oidcTokenEndpoints({
      config,
      engine: services.engine,
      clients: services.oidcClientDirectory,
      sessions: repositories.sessions,
      provider: identity.provider,
      revocations,
      store,
      limiter: rateLimiter,
      rateLimit: config.rateLimit,
    }),
    ...(management === undefined ? ops : []),
  ]);

  const server = await startHttpServer({
    ...config.server,
    logger,
    plainRoutes,
    prefixRoutes: consoleAppRoutes({ distDir: CONSOLE_DIST_DIR, frontend: frontendConfig(config) }),
    rpcHandler,
    fastPath,
    streamFastPath,
  }).catch(async (error: unknown) => {
    await management?.close();
    throw error;
  });
  identity.eventPoller?.start();

  let closing: Promise<void> | undefined;
  return {
    server,
    management,
    dataSource,
    store,
    oidcClients: services.oidcClientDirectory,
    close() {
      closing ??= (async () => {
        stopping = true;
        beginShutdown();
        readiness.stop();
        await identity.eventPoller?.close();
        await server.close();
        await backchannelLogout?.close();
        identity.openIdProvider?.stop();
        await management?.close();
        await tracing?.shutdown();
        await feed.close();
        revocations.close();
        await identity.provider.close();
        await mailer.close();
        await store.close();
        await storage.close();
      })();
      return closing;
    },
  };
}

/** The console's Vite build (web/vite.config.ts writes it; npm start and npm test make it). */
const CONSOLE_DIST_DIR = fileURLToPath(new URL("../../web/dist", import.meta.url));

/**
 * How the browser app signs in: Keycloak's public PKCE client `gatehouse-web` in the realm, or the
 * built-in provider's first-party client `gatehouse-console`.
 */
function frontendConfig(config: Config): FrontendConfig {
  const provider = config.identity.provider;
  const passwordPolicy = {
    minLength: config.identity.passwordMinLength,
    minCharacterClasses: config.identity.passwordMinCharacterClasses,
    maxLength: 256,
  };
  return provider.kind === "keycloak"
    ? {
        provider: "keycloak",
        issuer: provider.issuer ?? `${provider.url}/realms/${provider.realm}`,
        clientId: "gatehouse-web",
        passwordPolicy,
        passkeys: false,
      }
    : {
        provider: "builtin",
        issuer: config.identity.issuer,
        clientId: "gatehouse-console",
        passwordPolicy,
        passkeys: config.identity.passkeys.enabled,
      };
}
