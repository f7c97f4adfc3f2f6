import type { Logger } from "../../observability/logger.ts";
import { DomainError } from "../errors.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import { LocalWindowCounter } from "./local-window-counter.ts";

export interface RateLimit {
  /** Names the bucket, e.g. "ip:10.0.0.1" (hash anything personal before it becomes a key). */
  readonly key: string;
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Fixed-window counters in the coordination store, shared by every replica.
 * Every call is also counted in this process (the insurance): while the store
 * is unreachable those local counts decide, with the same limits, so guessing
 * stays bounded during an outage (per replica: N replicas allow up to N times
 * the limit), and a window already half spent on this replica stays spent.
 */
export class RateLimiter {
  private readonly store: CoordinationStore;
  private readonly logger: Logger;
  private readonly insurance: LocalWindowCounter;
  private readonly onRejected: () => void;
  private warned = false;

  /** `onRejected` runs for every call refused (for metrics); `insurance` decides while the store is unreachable. */
  constructor(
    store: CoordinationStore,
    logger: Logger,
    options: { readonly onRejected?: () => void; readonly insurance?: LocalWindowCounter } = {},
  ) {
    this.store = store;
    this.logger = logger;
    this.insurance = options.insurance ?? new LocalWindowCounter();
    this.onRejected = options.onRejected ?? (() => {});
  }

  /** Counts one call against every limit; throws resource_exhausted (with when to retry) if any is exceeded. */
  async consume(limits: readonly RateLimit[]): Promise<void> {
    // The in-process store is its own insurance.
    const insured = this.store.kind !== "memory";
    let counts = insured ? limits.map((limit) => this.insurance.increment(limit.key, limit.windowMs)) : [];
    // Known to be down: no round trip that can only fail.
    if (!insured || this.store.isHealthy()) {
      try {
        counts = await Promise.all(
          limits.map((limit) => this.store.increment(`ratelimit:${limit.key}`, limit.windowMs)),
        );
        this.warned = false;
      } catch (error) {
        this.warnOnce(error);
      }
    } else {
      this.warnOnce(undefined);
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

  /** Once per outage, not once per call. */
  private warnOnce(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(
      { err: error instanceof Error ? { message: error.message } : undefined },
      "shared rate limits unavailable; limiting per replica until the coordination store is back",
    );
  }
}
