import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
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

  it("lets calls through while the coordination store is unreachable", async () => {
    const down = {
      increment: () => Promise.reject(new Error("connection refused")),
    } as unknown as CoordinationStore;
    await new RateLimiter(down, silent).consume([{ key: "ip:1", limit: 0, windowMs: 60_000 }]);
  });
});
