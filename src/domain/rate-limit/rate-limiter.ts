import type { Logger } from "../../observability/logger.ts";
import { DomainError } from "../errors.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";

export interface RateLimit {
  /** Names the bucket, e.g. "ip:10.0.0.1" (hash anything personal before it becomes a key). */
  readonly key: string;
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Fixed-window counters in the coordination store, shared by every replica.
 * When the store is unreachable the limiter lets calls through (fails open)
 * and warns: brute force stays bounded by the account lockout, which lives
 * in the database.
 */
export class RateLimiter {
  private readonly store: CoordinationStore;
  private readonly logger: Logger;
  private readonly onRejected: () => void;

  /** `onRejected` runs for every call refused (for metrics). */
  constructor(store: CoordinationStore, logger: Logger, onRejected: () => void = () => {}) {
    this.store = store;
    this.logger = logger;
    this.onRejected = onRejected;
  }

  /** Counts one call against every limit; throws resource_exhausted (with when to retry) if any is exceeded. */
  async consume(limits: readonly RateLimit[]): Promise<void> {
    let counts: Array<{ count: number; resetInMs: number }>;
    try {
      counts = await Promise.all(
        limits.map((limit) => this.store.increment(`ratelimit:${limit.key}`, limit.windowMs)),
      );
    } catch (error) {
      this.logger.warn(
        { err: { message: (error as Error).message } },
        "rate limiting unavailable; allowing the call",
      );
      return;
    }
    let retryAfterMs = 0;
    for (const [index, limit] of limits.entries()) {
      const { count, resetInMs } = counts[index]!;
      if (count > limit.limit) retryAfterMs = Math.max(retryAfterMs, resetInMs);
    }
    if (retryAfterMs > 0) {
      this.onRejected();
      const seconds = Math.ceil(retryAfterMs / 1000);
      throw new DomainError(
        "resource_exhausted",
        "rate_limited",
        `too many requests; retry in ${seconds} s`,
        {
          retryAfterMs,
        },
      );
    }
  }
}
