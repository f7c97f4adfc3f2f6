/** How many keys the counter holds at most; past it the oldest window is forgotten first. */
const DEFAULT_MAX_KEYS = 100_000;

interface Window {
  count: number;
  endsAt: number;
}

/**
 * Fixed-window counters in this process: the rate limiter's insurance while
 * the shared store is unreachable. Bounded, so a flood of distinct keys costs
 * at most maxKeys entries (and forgets the oldest windows, not the newest).
 */
export class LocalWindowCounter {
  private readonly windows = new Map<string, Window>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: { maxKeys?: number; now?: () => number } = {}) {
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** Adds one to the key's current window; returns the count and the window's remaining time. */
  increment(key: string, windowMs: number): { count: number; resetInMs: number } {
    const now = this.now();
    const current = this.windows.get(key);
    if (current !== undefined && current.endsAt > now) {
      current.count += 1;
      return { count: current.count, resetInMs: current.endsAt - now };
    }
    if (current !== undefined) this.windows.delete(key);
    else if (this.windows.size >= this.maxKeys) this.makeRoom(now);
    // Re-inserted at the end: Map order is oldest window first.
    this.windows.set(key, { count: 1, endsAt: now + windowMs });
    return { count: 1, resetInMs: windowMs };
  }

  size(): number {
    return this.windows.size;
  }

  private makeRoom(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
