import type { ChangeFeed } from "../change-feed/change-feed.ts";
import type { ServiceRecord } from "../registry/service-record.ts";

/** One loaded registry; never mutated once built, so a swap is a single assignment. */
interface Snapshot {
  readonly byId: ReadonlyMap<string, ServiceRecord>;
  readonly bySlug: ReadonlyMap<string, ServiceRecord>;
  readonly byHost: ReadonlyMap<string, ServiceRecord>;
}

/** A reload started while one older reload is still in flight; more would only queue on the database. */
const MAX_RELOADS_IN_FLIGHT = 2;
const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * Every registered service in memory, reloaded in the background when the feed
 * says the registry changed. Lookups never wait for a reload: they are answered
 * from the directory in place until the new one is swapped in whole. Each reload
 * is numbered by the changes heard when it started; one that finishes after a
 * newer one is discarded, and changes heard in a burst share reloads (at most
 * two in flight, the newer covering every change heard before it started).
 *
 * A service missing from the directory while a reload is pending waits for that
 * reload (it may have just been created); a hit never waits. So a change is
 * served within at most two reload durations of being heard.
 */
export class ServiceDirectory {
  private readonly loadAll: () => Promise<ServiceRecord[]>;
  /** Static host → slug routes from configuration (ENVOY_HOST_SERVICES). */
  private readonly configuredHosts: ReadonlyMap<string, string>;
  private current: Snapshot | undefined;
  /** Changes heard so far. */
  private heard = 0;
  /** `heard` when the reload now served started; -1 before the first. */
  private served = -1;
  /** The `heard` of each reload in flight. */
  private readonly inFlight = new Set<number>();
  private pumpQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: Array<{ until: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private readonly swapListeners: Array<() => void> = [];

  constructor(
    loadAll: () => Promise<ServiceRecord[]>,
    configuredHosts: ReadonlyMap<string, string>,
    feed: ChangeFeed,
  ) {
    this.loadAll = loadAll;
    this.configuredHosts = configuredHosts;
    feed.onChange((event) => {
      if (event.kind !== "services_changed") return;
      this.heard++;
      // Deferred to the end of the tick: events delivered together (a poll) share one reload.
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => {
          this.pumpQueued = false;
          this.pump();
        });
      }
    });
  }

  /** Called after each swap: answers remembered from the old directory must go (the decision memo). */
  onSwap(listener: () => void): void {
    this.swapListeners.push(listener);
  }

  /** Settles once every change heard so far is served (or the reload covering it failed). */
  async whenCurrent(): Promise<void> {
    if (this.served >= this.heard && this.current !== undefined) return;
    const until = this.heard;
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ until, resolve, reject }));
    this.pump();
    await settled;
  }

  async byKey(key: string): Promise<ServiceRecord | undefined> {
    return this.lookup((snapshot) => snapshot.byId.get(key) ?? snapshot.bySlug.get(key));
  }

  /** A request's :authority → service; tried with and without the port. */
  async byHostName(authority: string): Promise<ServiceRecord | undefined> {
    const host = authority.toLowerCase();
    return this.lookup(
      (snapshot) => snapshot.byHost.get(host) ?? snapshot.byHost.get(host.replace(/:\d+$/, "")),
    );
  }

  /** From the directory in place; a miss while a newer one is pending (or before the first) waits for it. */
  private async lookup(
    find: (snapshot: Snapshot) => ServiceRecord | undefined,
  ): Promise<ServiceRecord | undefined> {
    const current = this.current;
    if (current !== undefined) {
      const hit = find(current);
      if (hit !== undefined || this.served >= this.heard) return hit;
    }
    await this.whenCurrent();
    return this.current === undefined ? undefined : find(this.current);
  }

  private covered(): number {
    let covered = this.served;
    for (const generation of this.inFlight) covered = Math.max(covered, generation);
    return covered;
  }

  private pump(): void {
    // After a failure, wait before asking again; with nothing to serve at all, every lookup asks.
    if (this.retryTimer !== undefined && this.current !== undefined) return;
    if (this.inFlight.size >= MAX_RELOADS_IN_FLIGHT || this.covered() >= this.heard) return;
    void this.reload(this.heard);
  }

  private async reload(generation: number): Promise<void> {
    this.inFlight.add(generation);
    let failure: { error: unknown } | undefined;
    try {
      const snapshot = this.build(await this.loadAll());
      if (generation > this.served) {
        this.current = snapshot;
        this.served = generation;
        for (const listener of this.swapListeners) listener();
      }
    } catch (error) {
      failure = { error };
    } finally {
      this.inFlight.delete(generation);
    }
    this.settleWaiters(generation, failure);
    if (failure !== undefined && this.retryTimer === undefined) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, RETRY_AFTER_FAILURE_MS);
      this.retryTimer.unref();
    }
    this.pump();
  }

  private settleWaiters(generation: number, failure: { error: unknown } | undefined): void {
    const waiting: typeof this.waiters = [];
    const pending = this.covered();
    for (const waiter of this.waiters) {
      if (this.served >= waiter.until) waiter.resolve();
      else if (failure !== undefined && generation >= waiter.until && pending < waiter.until) {
        // Nothing to serve at all: the lookup fails as the load did. Otherwise: the directory in place.
        if (this.current === undefined) waiter.reject(failure.error);
        else waiter.resolve();
      } else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  private build(services: ServiceRecord[]): Snapshot {
    const byId = new Map<string, ServiceRecord>();
    const bySlug = new Map<string, ServiceRecord>();
    const byHost = new Map<string, ServiceRecord>();
    for (const service of services) {
      byId.set(service.id, service);
      bySlug.set(service.slug, service);
      for (const host of service.hosts) byHost.set(host.toLowerCase(), service);
    }
    for (const [host, slug] of this.configuredHosts) {
      const service = bySlug.get(slug);
      if (service !== undefined && !byHost.has(host)) byHost.set(host, service);
    }
    return { byId, bySlug, byHost };
  }
}
