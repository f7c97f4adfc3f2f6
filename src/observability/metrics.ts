import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { RpcMetrics } from "./rpc-metrics.ts";

/**
 * Prometheus metrics, served at /metrics. Labels are bounded sets (outcome,
 * reason ids, front door); never user ids or tokens.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly decisions: Counter<"outcome" | "reason">;
  readonly changeFeedDegraded: Gauge;
  readonly changeFeedDegradedTotal: Counter;
  readonly cachedTokens: Gauge;
  readonly cachedSubjects: Gauge;
  readonly revocationsHeld: Gauge;
  readonly vaultMints: Counter<"source">;
  readonly keycloakEventsApplied: Counter<"kind">;
  readonly keycloakEventLag: Gauge;
  readonly keycloakEventGaps: Counter;
  readonly serviceDirectoryReads: Counter<"kind">;
  readonly keycloakEventFailures: Counter<"stage">;
  readonly keycloakUsersSynced: Counter<"outcome">;
  readonly keycloakSyncFailures: Counter<"source">;
  readonly keycloakLastSyncTime: Gauge;
  readonly keycloakLastSyncUsers: Gauge<"outcome">;
  readonly keycloakSyncFailuresSinceLastRun: Gauge;
  /** Per-RPC requests and durations (Connect's interceptor and the gRPC fast path). */
  readonly rpc = new RpcMetrics();
  readonly rateLimitRejections: Counter;
  readonly changeFeedLag: Gauge;
  readonly databaseUp: Gauge;
  readonly coordinationStoreUp: Gauge;
  readonly databasePoolConnections: Gauge<"state">;
  readonly databasePoolWaiting: Gauge;
  readonly tlsCertificateExpiry: Gauge;
  private readonly collectors: Array<() => void | Promise<void>> = [];
  /** One child per (outcome, reason): a labelled inc() validates and hashes its labels every call. */
  private readonly decisionCounters = new Map<string, Counter.Internal>();

  constructor() {
    // Unprefixed: process_* and nodejs_* are the names stock Node.js dashboards and alerts query.
    collectDefaultMetrics({ register: this.registry });
    this.rpc.register(this.registry);
    this.decisions = new Counter({
      name: "gatehouse_decisions_total",
      help: "Access decisions (Check, VerifyToken and Gatehouse's own RPCs) by outcome and reason.",
      labelNames: ["outcome", "reason"],
      registers: [this.registry],
    });
    this.changeFeedDegraded = new Gauge({
      name: "gatehouse_change_feed_degraded",
      help: "1 while the coordination store (Redis) is unreachable and changes are polled from the database.",
      registers: [this.registry],
    });
    this.changeFeedDegradedTotal = new Counter({
      name: "gatehouse_change_feed_degraded_total",
      help: "Times the change feed lost the coordination store.",
      registers: [this.registry],
    });
    this.cachedTokens = new Gauge({
      name: "gatehouse_decision_cached_tokens",
      help: "Verified tokens held in memory (bounded by DECISION_CACHE_SIZE).",
      registers: [this.registry],
    });
    this.cachedSubjects = new Gauge({
      name: "gatehouse_decision_cached_subjects",
      help: "Subjects whose access is held in memory.",
      registers: [this.registry],
    });
    this.revocationsHeld = new Gauge({
      name: "gatehouse_revocations_held",
      help: "Unexpired session, token and subject revocations held in memory.",
      registers: [this.registry],
    });
    this.vaultMints = new Counter({
      name: "gatehouse_vault_mints_total",
      help: "TokenVault.GetAccessToken calls by how they are served: a provider round trip (provider), joining one under way in this process (joined), or taking the token another replica minted meanwhile (replica).",
      labelNames: ["source"],
      registers: [this.registry],
    });
    this.keycloakEventsApplied = new Counter({
      name: "gatehouse_keycloak_events_applied_total",
      help: "Keycloak admin and user events applied by this replica's poller, by what they did.",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    this.keycloakEventLag = new Gauge({
      name: "gatehouse_keycloak_event_lag_seconds",
      help: "Time from the last applied Keycloak event happening to Gatehouse applying it.",
      registers: [this.registry],
    });
    this.keycloakEventGaps = new Counter({
      name: "gatehouse_keycloak_event_gaps_total",
      help: "Full reconciles run because the event cursor was older than Keycloak's event retention.",
      registers: [this.registry],
    });
    this.serviceDirectoryReads = new Counter({
      name: "gatehouse_service_directory_reads_total",
      help: "Reads of the service registry into this replica's directory: the whole registry (full: at start, or after a change may have been missed) or one changed service (delta).",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    this.keycloakEventFailures = new Counter({
      name: "gatehouse_keycloak_event_failures_total",
      help: "Keycloak event polls that failed (poll) and events that could not be applied and were skipped (apply).",
      labelNames: ["stage"],
      registers: [this.registry],
    });
    this.keycloakUsersSynced = new Counter({
      name: "gatehouse_keycloak_users_synced_total",
      help: "Keycloak users brought into the local records by this replica (sign-in, events, full sync), by outcome.",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    this.keycloakSyncFailures = new Counter({
      name: "gatehouse_keycloak_sync_failures_total",
      help: "Keycloak sync failures on this replica, by where they happened (login, provision, push, full).",
      labelNames: ["source"],
      registers: [this.registry],
    });
    this.keycloakLastSyncTime = new Gauge({
      name: "gatehouse_keycloak_sync_last_run_timestamp_seconds",
      help: "When the last full Keycloak sync finished (any replica; read from the database at scrape).",
      registers: [this.registry],
    });
    this.keycloakLastSyncUsers = new Gauge({
      name: "gatehouse_keycloak_sync_last_run_users",
      help: "The last full Keycloak sync's result: users by outcome (created, updated, unchanged, disabled, failed).",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    this.keycloakSyncFailuresSinceLastRun = new Gauge({
      name: "gatehouse_keycloak_sync_failures_since_last_run",
      help: "Sync failures outside full runs since the last full sync (any replica; read from the database at scrape).",
      registers: [this.registry],
    });
    this.rateLimitRejections = new Counter({
      name: "gatehouse_rate_limit_rejections_total",
      help: "Calls refused with RESOURCE_EXHAUSTED because a rate limit (per IP, or per IP and account on sign-in calls) was exceeded.",
      registers: [this.registry],
    });
    this.changeFeedLag = new Gauge({
      name: "gatehouse_change_feed_lag_seconds",
      help: "Seconds since this replica last read the change log from the database (the backstop poll); grows without bound while the database is unreachable.",
      registers: [this.registry],
    });
    this.databaseUp = new Gauge({
      name: "gatehouse_database_up",
      help: "1 while the database answers the readiness query, 0 while it does not.",
      registers: [this.registry],
    });
    this.coordinationStoreUp = new Gauge({
      name: "gatehouse_coordination_store_up",
      help: "1 while the coordination store (Redis, or the in-process one) is healthy.",
      registers: [this.registry],
    });
    this.databasePoolConnections = new Gauge({
      name: "gatehouse_database_pool_connections",
      help: "PostgreSQL pool connections by state (idle, active; at most DATABASE_POOL_SIZE).",
      labelNames: ["state"],
      registers: [this.registry],
    });
    this.databasePoolWaiting = new Gauge({
      name: "gatehouse_database_pool_waiting",
      help: "Queries waiting for a PostgreSQL pool connection (saturation).",
      registers: [this.registry],
    });
    this.tlsCertificateExpiry = new Gauge({
      name: "gatehouse_tls_certificate_expiry_timestamp_seconds",
      help: "When the API port's TLS certificate (TLS_CERT_FILE, as on disk now) expires, in Unix seconds; absent without TLS.",
      registers: [this.registry],
    });
  }

  /** Counts one decision; called for every Check, so the labelled child is looked up once. */
  countDecision(outcome: string, reason: string): void {
    const key = `${outcome}\0${reason}`;
    let counter = this.decisionCounters.get(key);
    if (counter === undefined) {
      counter = this.decisions.labels({ outcome, reason });
      this.decisionCounters.set(key, counter);
    }
    counter.inc();
  }

  /** Runs just before each scrape, to sample gauges of state owned elsewhere. */
  onCollect(collector: () => void | Promise<void>): void {
    this.collectors.push(collector);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<string> {
    await Promise.all(this.collectors.map((collector) => collector()));
    return this.registry.metrics();
  }
}
