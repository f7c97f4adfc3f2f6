import type { ChangeFeed } from "../change-feed/change-feed.ts";
import type { ServiceRecord } from "../registry/service-record.ts";
import { ServiceIndex } from "./service-index.ts";

/** What the directory reads: all of it (at start, and as the fallback), or one service after a change. */
export interface ServiceSource {
  /** Every service, and the registry's change number read first: every change up to it is in the list. */
  loadAll(): Promise<{ readonly version: number; readonly services: readonly ServiceRecord[] }>;
  /** The service as it is now; undefined once it is deleted. */
  loadOne(id: string): Promise<ServiceRecord | undefined>;
  /** The registry's last change number. */
  latestVersion(): Promise<number>;
}

export interface ServiceDirectoryOptions {
  /**
   * How long a hole in the change numbers may stay open before the directory
   * reloads whole: writers on several replicas publish in a slightly different
   * order than they commit, so a hole usually closes within milliseconds.
   */
  readonly gapGraceMs?: number;
  /** Told of every read of the source: a full reload, or one service. */
  readonly onRead?: (kind: "full" | "delta") => void;
}

/** A full reload started while one older reload is still in flight; more would only queue on the database. */
const MAX_RELOADS_IN_FLIGHT = 2;
const RETRY_AFTER_FAILURE_MS = 1000;
const DEFAULT_GAP_GRACE_MS = 200;

/** One service as a change left it: the record, or gone (ids are never reused, so a deletion is final). */
interface Outcome {
  readonly version: number;
  readonly service: ServiceRecord | undefined;
}
const GONE = Number.POSITIVE_INFINITY;

/**
 * Every registered service in memory. A change on the feed names one service
 * and its change number: the directory reads that service alone and puts it in
 * place (a deletion takes it out); a copy held at that number or newer makes
 * the change a duplicate. The whole registry is read at start, and again — in
 * the background, swapped in whole — whenever a change may have been missed: a
 * hole in the change numbers that stays open past the grace period, a number
 * in the database still not heard of at the next poll of the feed,
 * the coordination store coming back after an outage, or a change naming no
 * service ("*"). Deltas applied while a reload reads are laid over its result
 * by version, so the swap never takes a service back in time.
 *
 * Lookups never wait for a read, except a lookup that misses while one is
 * pending (the service may have just been created), and before the first load.
 */
export class ServiceDirectory {
  private readonly source: ServiceSource;
  private readonly configuredHosts: ReadonlyMap<string, string>;
  private readonly gapGraceMs: number;
  private readonly onRead: ((kind: "full" | "delta") => void) | undefined;
  private current: ServiceIndex | undefined;
  private readonly swapListeners: Array<() => void> = [];

  // Full reloads, numbered by the requests for one heard when they started.
  private requested = 0;
  /** `requested` when the reload now served started; -1 before the first. */
  private served = -1;
  private readonly inFlight = new Set<number>();
  private pumpQueued = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters: Array<{ until: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  /** Deltas applied while a full reload is in flight, laid over its result. */
  private readonly journal = new Map<string, Outcome>();

  /** Services being read after a change, with the newest change number heard for each. */
  private readonly deltas = new Map<string, { wanted: number; done: Promise<void> }>();

  // Change numbers: every one up to `contiguous` is served; `ahead` were heard past a hole.
  private contiguous: number | undefined;
  private readonly ahead = new Set<number>();
  private gapTimer: NodeJS.Timeout | undefined;
  /** The database's last change number at the last poll, when it had not been heard of yet. */
  private unheard: number | undefined;

  constructor(
    source: ServiceSource,
    configuredHosts: ReadonlyMap<string, string>,
    feed: ChangeFeed,
    options: ServiceDirectoryOptions = {},
  ) {
    this.source = source;
    this.configuredHosts = configuredHosts;
    this.gapGraceMs = options.gapGraceMs ?? DEFAULT_GAP_GRACE_MS;
    this.onRead = options.onRead;
    feed.onChange((event) => {
      if (event.kind !== "services_changed") return;
      if (event.key === "*") {
        this.requestReload();
        return;
      }
      this.heard(event.value);
      this.requestDelta(event.key, event.value);
    });
    feed.onReconnect(() => this.requestReload());
    feed.onPolled(() => void this.checkLatest());
  }

  /** Called after each change is served (a service put in place, or a reload swapped in): remembered answers must go. */
  onSwap(listener: () => void): void {
    this.swapListeners.push(listener);
  }

  /** Settles once every change heard so far is served (or the read covering it failed). */
  async whenCurrent(): Promise<void> {
    const deltas = [...this.deltas.values()].map((delta) => delta.done);
    await Promise.all([this.whenReloaded(), ...deltas]);
  }

  async byKey(key: string): Promise<ServiceRecord | undefined> {
    return this.lookup((index) => index.byId.get(key) ?? index.bySlug(key));
  }

  /** A request's :authority → service; tried with and without the port. */
  async byHostName(authority: string): Promise<ServiceRecord | undefined> {
    const host = authority.toLowerCase();
    return this.lookup((index) => index.byHost(host) ?? index.byHost(host.replace(/:\d+$/, "")));
  }

  private async lookup(
    find: (index: ServiceIndex) => ServiceRecord | undefined,
  ): Promise<ServiceRecord | undefined> {
    const current = this.current;
    if (current !== undefined) {
      const hit = find(current);
      if (hit !== undefined || (this.served >= this.requested && this.deltas.size === 0)) return hit;
    }
    await this.whenCurrent();
    return this.current === undefined ? undefined : find(this.current);
  }

  private swapped(): void {
    for (const listener of this.swapListeners) listener();
  }

  // --- One service at a time -------------------------------------------------

  private requestDelta(id: string, version: number): void {
    const held = this.current?.byId.get(id);
    if (held !== undefined && held.version >= version) return; // a duplicate, or a reload read it already
    const pending = this.deltas.get(id);
    if (pending !== undefined) {
      pending.wanted = Math.max(pending.wanted, version);
      return;
    }
    const delta = { wanted: version, done: Promise.resolve() };
    this.deltas.set(id, delta);
    delta.done = this.readDelta(id, delta);
  }

  /** Reads the service until what it read is at least the newest change heard for it. */
  private async readDelta(id: string, delta: { wanted: number }): Promise<void> {
    let failed = false;
    try {
      for (;;) {
        const wanted = delta.wanted;
        const service = await this.source.loadOne(id);
        this.onRead?.("delta");
        this.apply(
          id,
          service === undefined ? { version: GONE, service } : { version: service.version, service },
        );
        if (delta.wanted === wanted || (service?.version ?? GONE) >= delta.wanted) return;
      }
    } catch {
      failed = true;
    } finally {
      this.deltas.delete(id);
    }
    // The database did not answer: a full reload covers the change and retries on its own.
    if (failed) {
      this.requestReload();
      await this.whenReloaded().catch(() => {});
    }
  }

  private apply(id: string, outcome: Outcome): void {
    if (this.inFlight.size > 0) {
      const journaled = this.journal.get(id);
      if (journaled === undefined || journaled.version < outcome.version) this.journal.set(id, outcome);
    }
    if (this.current !== undefined && overlay(this.current, id, outcome)) this.swapped();
  }

  // --- Change numbers ----------------------------------------------------------

  private heard(version: number): void {
    if (this.contiguous !== undefined && version <= this.contiguous) return;
    this.ahead.add(version);
    this.advance();
  }

  /** Everything up to `version` is served (a reload read it): close the holes below it. */
  private coveredUpTo(version: number): void {
    this.contiguous = Math.max(this.contiguous ?? version, version);
    for (const heard of this.ahead) if (heard <= this.contiguous) this.ahead.delete(heard);
    this.advance();
  }

  private advance(): void {
    if (this.contiguous === undefined) return; // before the first load, which covers what was heard
    while (this.ahead.delete(this.contiguous + 1)) this.contiguous++;
    if (this.ahead.size === 0) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    } else if (this.gapTimer === undefined) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        // Still a hole: a change was missed (lost in transit, or its writer died before publishing it).
        if (this.ahead.size > 0) this.requestReload();
      }, this.gapGraceMs);
      this.gapTimer.unref();
    }
  }

  /**
   * A change number in the database not heard of by the next poll of the feed
   * (its writer died between the write and the publish): reload. A poll apart,
   * not the grace, so that a change slow on its way does not make every
   * replica read the registry.
   */
  private async checkLatest(): Promise<void> {
    if (this.contiguous === undefined) return;
    if (this.unheard !== undefined && this.contiguous < this.unheard) this.requestReload();
    this.unheard = undefined;
    try {
      const latest = await this.source.latestVersion();
      if (this.contiguous !== undefined && latest > this.contiguous) this.unheard = latest;
    } catch {
      // The next poll asks again.
    }
  }

  // --- The whole registry --------------------------------------------------------

  private requestReload(): void {
    this.requested++;
    // Deferred to the end of the tick: requests heard together (a poll) share one reload.
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  /** Settles once every reload requested so far is served; fails when there is nothing to serve at all. */
  private async whenReloaded(): Promise<void> {
    if (this.served >= this.requested && this.current !== undefined) return;
    const until = this.requested;
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ until, resolve, reject }));
    this.pump();
    await settled;
  }

  private covered(): number {
    let covered = this.served;
    for (const generation of this.inFlight) covered = Math.max(covered, generation);
    return covered;
  }

  private pump(): void {
    // After a failure, wait before asking again; with nothing to serve at all, every lookup asks.
    if (this.retryTimer !== undefined && this.current !== undefined) return;
    if (this.inFlight.size >= MAX_RELOADS_IN_FLIGHT || this.covered() >= this.requested) return;
    void this.reload(this.requested);
  }

  private async reload(generation: number): Promise<void> {
    this.inFlight.add(generation);
    let failure: { error: unknown } | undefined;
    try {
      const { version, services } = await this.source.loadAll();
      this.onRead?.("full");
      if (generation > this.served) {
        const index = new ServiceIndex(this.configuredHosts, services);
        for (const [id, outcome] of this.journal) overlay(index, id, outcome);
        this.current = index;
        this.served = generation;
        this.coveredUpTo(version);
        this.swapped();
      }
    } catch (error) {
      failure = { error };
    } finally {
      this.inFlight.delete(generation);
      if (this.inFlight.size === 0) this.journal.clear();
    }
    this.settleWaiters(generation, failure);
    if (failure !== undefined && this.retryTimer === undefined) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, RETRY_AFTER_FAILURE_MS);
      this.retryTimer.unref();
    }
    // After a failure only the retry timer (or a lookup) asks again: a database that fails at once
    // would otherwise be asked in a loop of promises that never lets a timer run.
    if (failure === undefined) this.pump();
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
}

/** Puts the outcome in the index unless the index holds that service at the same version or newer; true if it changed. */
function overlay(index: ServiceIndex, id: string, outcome: Outcome): boolean {
  const held = index.byId.get(id);
  if (outcome.service === undefined) {
    if (held === undefined) return false;
    index.remove(id);
    return true;
  }
  if (held !== undefined && held.version >= outcome.version) return false;
  index.put(outcome.service);
  return true;
}
