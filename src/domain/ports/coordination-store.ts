/**
 * What replicas share besides the database: short-lived keys (revocations,
 * single-use markers, locks), rate-limit counters, and pub/sub for cache
 * invalidation. Redis in production; an in-process adapter for a single node.
 *
 * Every method may reject when the backing store is unreachable or does not
 * answer in time, with a DomainError unavailable / coordination_unavailable;
 * callers decide whether to fail open or closed and say so in their docs.
 */
export interface CoordinationStore {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets the key only if absent; true when this call set it (locks, single use). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Fixed-window counter: adds one and returns the count and the window's remaining time. */
  increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** Whether the store is reachable now. */
  isHealthy(): boolean;
  /** Told when reachability changes (e.g. to mark caches stale while Redis is down). */
  onHealthChange(listener: (healthy: boolean) => void): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}
