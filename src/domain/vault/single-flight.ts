/**
 * Coalesces concurrent calls with one key into one run: callers that arrive
 * while it runs share its outcome (result or error). The key is free again as
 * soon as the run settles.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  /** `joined` tells whether this call shares a run already under way. */
  run(key: string, work: () => Promise<T>): { readonly promise: Promise<T>; readonly joined: boolean } {
    const running = this.flights.get(key);
    if (running !== undefined) return { promise: running, joined: true };
    const promise = work().finally(() => this.flights.delete(key));
    this.flights.set(key, promise);
    return { promise, joined: false };
  }
}

/** One holder per key at a time, in arrival order (in this process). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async lock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
