import type { Logger } from "../../observability/logger.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";

/** Something that changes what a decision would answer. */
export type ChangeKind =
  | "session_revoked"
  | "token_revoked"
  /** value: epoch seconds; tokens of the subject issued at or before it are revoked. */
  | "subject_cutoff"
  /** key: a subject id, or "*" for every subject (e.g. a business role changed). */
  | "access_changed"
  | "services_changed";

export interface ChangeEvent {
  readonly id: string;
  readonly kind: ChangeKind;
  readonly key: string;
  readonly value: number;
  /** Epoch ms after which the event no longer matters. */
  readonly expiresAt: number;
}

export type NewChange = Omit<ChangeEvent, "id">;

/** Durable storage of the feed (the change_events table). */
export interface ChangeLog {
  append(change: NewChange): Promise<ChangeEvent>;
  /** Events created at or after the given time (DB clock), oldest first. */
  since(time: Date): Promise<Array<ChangeEvent & { createdAt: Date }>>;
  /** Unexpired revocation events, to rebuild state at start. */
  activeRevocations(): Promise<ChangeEvent[]>;
  /** The database's current time, so polling never depends on replica clocks. */
  databaseNow(): Promise<Date>;
  pruneExpired(): Promise<number>;
}

export interface ChangeFeedOptions {
  /** Poll interval while pub/sub works: a backstop only. */
  readonly pollIntervalMs: number;
  /** Poll interval while the coordination store is unreachable: how late a missed event can be. */
  readonly degradedPollIntervalMs: number;
  readonly onDegradedChange?: (degraded: boolean) => void;
}

const CHANNEL = "changes";
// Overlap between polls: covers transactions that commit after a later-numbered one.
export const POLL_OVERLAP_MS = 10_000;
const PRUNE_INTERVAL_MS = 60_000;

/**
 * Delivers every change to every replica: written to the database first (the
 * source of truth), then published on the coordination store for immediate
 * delivery, and polled from the database as a backstop. Listeners must be
 * idempotent; an event may arrive by both routes.
 */
export class ChangeFeed {
  private readonly log: ChangeLog;
  private readonly store: CoordinationStore;
  private readonly logger: Logger;
  private readonly options: ChangeFeedOptions;
  private listeners: Array<(event: ChangeEvent) => void> = [];
  private readonly reconnectListeners: Array<() => void> = [];
  private readonly pollListeners: Array<() => void> = [];
  /** Ids applied recently, with their creation time, to skip duplicates from polling. */
  private readonly seen = new Map<string, number>();
  private pollFrom: Date = new Date(0);
  /** Local clock (epoch ms) of the last successful read of the change log: the feed's lag is now minus this. */
  private lastReadAt = Date.now();
  private pollTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private degraded = false;
  private closed = false;

  constructor(log: ChangeLog, store: CoordinationStore, logger: Logger, options: ChangeFeedOptions) {
    this.log = log;
    this.store = store;
    this.logger = logger;
    this.options = options;
  }

  /** Calls the listener for every change from now on; returns a function that stops it. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.push(listener);
    // A new array, so that a delivery under way (which may be what unsubscribes) is not disturbed.
    return () => {
      this.listeners = this.listeners.filter((entry) => entry !== listener);
    };
  }

  /**
   * Calls the listener when the coordination store is reachable again after an
   * outage. The feed catches up from the database at once, but a listener that
   * numbers the changes it applies may prefer to start over from the source.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /**
   * Calls the listener after each successful poll of the change log: a
   * listener that numbers changes can check then for one never announced
   * (its writer died between the write and the publish).
   */
  onPolled(listener: () => void): void {
    this.pollListeners.push(listener);
  }

  /**
   * The database time at which the last successful poll started: every change
   * created more than the poll overlap before it has reached the listeners
   * (those subscribed at the time). WatchChanges' cursors are built on it.
   */
  coveredUntil(): Date {
    return this.pollFrom;
  }

  isDegraded(): boolean {
    return this.degraded;
  }

  /** Loads active revocations, subscribes, and starts polling. */
  async start(): Promise<void> {
    this.pollFrom = await this.log.databaseNow();
    for (const event of await this.log.activeRevocations()) this.apply(event);
    try {
      this.unsubscribe = await this.store.subscribe(CHANNEL, (message) => this.onMessage(message));
    } catch (error) {
      this.logger.warn({ err: error }, "change feed: subscribe failed; relying on polling");
    }
    this.setDegraded(!this.store.isHealthy());
    this.store.onHealthChange((healthy) => {
      const reconnected = healthy && this.degraded;
      this.setDegraded(!healthy);
      // Back online: catch up at once on anything published while we could not hear it.
      if (healthy) void this.poll();
      if (reconnected) for (const listener of this.reconnectListeners) listener();
    });
    this.schedulePoll();
    this.pruneTimer = setInterval(() => {
      this.log
        .pruneExpired()
        .catch((error: unknown) => this.logger.warn({ err: error }, "change feed: prune failed"));
    }, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /** Records a change durably, applies it here, and tells the other replicas. */
  async publish(change: NewChange): Promise<void> {
    const event = await this.log.append(change);
    this.apply(event);
    try {
      await this.store.publish(CHANNEL, JSON.stringify(event));
    } catch (error) {
      // Durable already: other replicas will poll it within degradedPollIntervalMs.
      this.logger.warn(
        { err: error, kind: event.kind },
        "change feed: publish failed; replicas will poll it",
      );
    }
  }

  /** Seconds since the change log was last read successfully (at start, or by a poll). */
  lagSeconds(now = Date.now()): number {
    return Math.max(0, (now - this.lastReadAt) / 1000);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearInterval(this.pruneTimer);
    await this.unsubscribe?.().catch(() => {});
  }

  private setDegraded(degraded: boolean): void {
    if (this.degraded === degraded) return;
    this.degraded = degraded;
    if (degraded) {
      this.logger.error(
        { pollIntervalMs: this.options.degradedPollIntervalMs },
        "change feed degraded: coordination store unreachable; decisions continue from memory and changes are polled from the database",
      );
    } else {
      this.logger.info("change feed restored: receiving changes by pub/sub again");
    }
    this.options.onDegradedChange?.(degraded);
    this.schedulePoll();
  }

  private onMessage(message: string): void {
    try {
      const event = JSON.parse(message) as ChangeEvent;
      this.apply(event);
    } catch (error) {
      this.logger.warn({ err: error }, "change feed: ignoring malformed message");
    }
  }

  private apply(event: ChangeEvent, createdAt = Date.now()): void {
    if (this.seen.has(event.id)) return;
    this.seen.set(event.id, createdAt);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, kind: event.kind }, "change feed: listener failed");
      }
    }
  }

  private schedulePoll(): void {
    if (this.closed) return;
    clearTimeout(this.pollTimer);
    const interval = this.degraded ? this.options.degradedPollIntervalMs : this.options.pollIntervalMs;
    this.pollTimer = setTimeout(() => {
      void this.poll().finally(() => this.schedulePoll());
    }, interval);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    try {
      const now = await this.log.databaseNow();
      const events = await this.log.since(new Date(this.pollFrom.getTime() - POLL_OVERLAP_MS));
      for (const event of events) this.apply(event, event.createdAt.getTime());
      this.pollFrom = now;
      this.lastReadAt = Date.now();
      // Forget ids that can no longer come back through the overlap window.
      const horizon = now.getTime() - 2 * POLL_OVERLAP_MS - this.options.pollIntervalMs;
      for (const [id, createdAt] of this.seen) if (createdAt < horizon) this.seen.delete(id);
      for (const listener of this.pollListeners) listener();
    } catch (error) {
      this.logger.warn(
        { err: error },
        "change feed: polling the database failed; decisions continue from memory",
      );
    }
  }
}
