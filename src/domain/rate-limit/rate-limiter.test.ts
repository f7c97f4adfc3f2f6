import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import { LocalWindowCounter } from "./local-window-counter.ts";
import { RateLimiter } from "./rate-limiter.ts";

const silent = pino({ level: "silent" });

describe("RateLimiter", () => {
  it("allows up to the limit per window, then answers resource_exhausted with when to retry", async () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(new MemoryCoordinationStore(() => now), silent);
    const limits = [{ key: "ip:1", limit: 2, windowMs: 60_000 }];
    await limiter.consume(limits);
    await limiter.consume(limits);
    now += 15_000;
    await expect(limiter.consume(limits)).rejects.toMatchObject({
      kind: "resource_exhausted",
      reason: "rate_limited",
      retryAfterMs: 45_000,
    });
    now += 45_000;
    await limiter.consume(limits);
  });

  it("fails when any of several limits is exceeded", async () => {
    const limiter = new RateLimiter(new MemoryCoordinationStore(), silent);
    await limiter.consume([
      { key: "ip:1", limit: 100, windowMs: 60_000 },
      { key: "account:a", limit: 1, windowMs: 60_000 },
    ]);
    await expect(
      limiter.consume([
        { key: "ip:1", limit: 100, windowMs: 60_000 },
        { key: "account:a", limit: 1, windowMs: 60_000 },
      ]),
    ).rejects.toMatchObject({ kind: "resource_exhausted" });
    await limiter.consume([{ key: "account:b", limit: 1, windowMs: 60_000 }]);
  });

  /** A Redis-like store that is down: every command rejects, as the adapter's do. */
  const unreachable = (healthy: boolean) => {
    const calls = { increment: 0 };
    const store = {
      kind: "redis",
      isHealthy: () => healthy,
      increment: () => {
        calls.increment++;
        return Promise.reject(new Error("coordination_unavailable"));
      },
    } as unknown as CoordinationStore;
    return { store, calls };
  };

  it("keeps limiting in process while the coordination store fails (the insurance)", async () => {
    let now = 1_000_000;
    const { store, calls } = unreachable(true);
    const limiter = new RateLimiter(store, silent, { insurance: new LocalWindowCounter({ now: () => now }) });
    const limits = [{ key: "Login:account:a", limit: 3, windowMs: 60_000 }];
    for (let i = 0; i < 3; i++) await limiter.consume(limits);
    expect(calls.increment).toBe(3);
    now += 20_000;
    await expect(limiter.consume(limits)).rejects.toMatchObject({
      kind: "resource_exhausted",
      reason: "rate_limited",
      retryAfterMs: 40_000,
    });
    // Another account has its own budget; the window ends and the budget comes back.
    await limiter.consume([{ key: "Login:account:b", limit: 3, windowMs: 60_000 }]);
    now += 40_000;
    await limiter.consume(limits);
  });

  it("skips the round trip while the store is known to be down, and still limits", async () => {
    const { store, calls } = unreachable(false);
    const limiter = new RateLimiter(store, silent);
    const limits = [{ key: "ip:1", limit: 1, windowMs: 60_000 }];
    await limiter.consume(limits);
    await expect(limiter.consume(limits)).rejects.toMatchObject({ kind: "resource_exhausted" });
    expect(calls.increment).toBe(0);
  });

  it("counts calls made while the store worked: an outage does not hand out a fresh window", async () => {
    let healthy = true;
    const shared = new MemoryCoordinationStore();
    const store = {
      kind: "redis",
      isHealthy: () => healthy,
      increment: (key: string, windowMs: number) =>
        healthy ? shared.increment(key, windowMs) : Promise.reject(new Error("down")),
    } as unknown as CoordinationStore;
    const limiter = new RateLimiter(store, silent);
    const limits = [{ key: "ip:1", limit: 2, windowMs: 60_000 }];
    await limiter.consume(limits);
    await limiter.consume(limits);
    healthy = false;
    await expect(limiter.consume(limits)).rejects.toMatchObject({ kind: "resource_exhausted" });
  });
});

describe("LocalWindowCounter", () => {
  it("holds at most maxKeys windows, forgetting the oldest first", () => {
    let now = 0;
    const counter = new LocalWindowCounter({ maxKeys: 3, now: () => now });
    counter.increment("a", 60_000);
    now += 1;
    counter.increment("b", 60_000);
    counter.increment("c", 60_000);
    counter.increment("c", 60_000);
    counter.increment("d", 60_000);
    expect(counter.size()).toBe(3);
    // "a" was forgotten (a fresh window), "c" was not.
    expect(counter.increment("a", 60_000).count).toBe(1);
    expect(counter.increment("c", 60_000).count).toBe(3);
  });

  it("drops expired windows before forgetting live ones", () => {
    let now = 0;
    const counter = new LocalWindowCounter({ maxKeys: 2, now: () => now });
    counter.increment("short", 10);
    counter.increment("long", 60_000);
    counter.increment("long", 60_000);
    now = 100;
    counter.increment("new", 60_000);
    expect(counter.increment("long", 60_000).count).toBe(3);
  });
});
