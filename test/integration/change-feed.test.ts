import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisCoordinationStore } from "../../src/cache/redis-coordination-store.ts";
import { ChangeFeed } from "../../src/domain/change-feed/change-feed.ts";
import { RevocationRegistry } from "../../src/domain/revocation/revocation-registry.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { ChangeLogRepository } from "../../src/persistence/change-log-repository.ts";
import { openDataSource } from "../../src/persistence/data-source.ts";
import { Sql } from "../../src/persistence/sql.ts";
import { PrivateRedis } from "../support/private-redis.ts";
import { createTestDatabase, uniqueRedisPrefix } from "../support/services.ts";

/** Polls until `check` holds; returns the time it took (printed, never asserted). */
async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - started;
}

interface Replica {
  feed: ChangeFeed;
  revocations: RevocationRegistry;
  store: RedisCoordinationStore;
  degradedChanges: boolean[];
  close(): Promise<void>;
}

describe("change feed across two replicas (real PostgreSQL and Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: PrivateRedis;
  const replicas: Replica[] = [];
  const closers: Array<() => Promise<void>> = [];

  async function replica(prefix: string): Promise<Replica> {
    const dataSource = await openDataSource({ kind: "postgres", url: database.url, poolSize: 4 });
    const sql = new Sql(dataSource, { embedded: false });
    const logger = createLogger("silent");
    const store = new RedisCoordinationStore(redis.url, prefix, logger);
    await store.connect();
    const degradedChanges: boolean[] = [];
    const feed = new ChangeFeed(new ChangeLogRepository(sql), store, logger, {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 100,
      onDegradedChange: (degraded) => degradedChanges.push(degraded),
    });
    const revocations = new RevocationRegistry(feed, 3_600_000);
    await feed.start();
    const close = async () => {
      await feed.close();
      revocations.close();
      await store.close();
      await dataSource.destroy();
    };
    closers.push(close);
    return { feed, revocations, store, degradedChanges, close };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await PrivateRedis.start();
    const prefix = uniqueRedisPrefix();
    replicas.push(await replica(prefix), await replica(prefix));
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await redis?.stop();
    await database?.drop();
  });

  const token = (sessionId: string) => ({ sessionId, tokenId: "", subjectId: "u", issuedAt: 0 });

  it("delivers a revocation from one replica to the other through pub/sub", async () => {
    const [a, b] = replicas as [Replica, Replica];
    expect(b.revocations.reasonFor(token("s-1"))).toBeUndefined();
    const started = performance.now();
    await a.revocations.revokeSession("s-1", new Date(Date.now() + 60_000));
    expect(a.revocations.reasonFor(token("s-1"))).toBe("session_revoked");
    await eventually(() => b.revocations.reasonFor(token("s-1")) === "session_revoked");
    console.info(`revocation propagation via pub/sub: ${(performance.now() - started).toFixed(1)} ms`);
  });

  it("keeps working from memory and the database while Redis is down, and says so", async () => {
    const [a, b] = replicas as [Replica, Replica];
    await redis.stop();
    await eventually(() => b.feed.isDegraded() && a.feed.isDegraded());
    expect(b.degradedChanges).toContain(true);
    // Decisions go on from memory: what was revoked stays revoked…
    expect(b.revocations.reasonFor(token("s-1"))).toBe("session_revoked");
    // …and a revocation made now, unheard over pub/sub, is picked up from the database.
    const started = performance.now();
    await a.revocations.revokeSession("s-2", new Date(Date.now() + 60_000));
    await eventually(() => b.revocations.reasonFor(token("s-2")) === "session_revoked");
    console.info(
      `revocation propagation with Redis down (database polling): ${(performance.now() - started).toFixed(1)} ms`,
    );

    await redis.resume();
    await eventually(() => !a.feed.isDegraded() && !b.feed.isDegraded(), 15_000);
    expect(b.degradedChanges.at(-1)).toBe(false);
    await a.revocations.revokeSession("s-3", new Date(Date.now() + 60_000));
    await eventually(() => b.revocations.reasonFor(token("s-3")) === "session_revoked");
  });

  it("rebuilds revocation state from the database when a replica starts", async () => {
    const late = await replica(uniqueRedisPrefix());
    expect(late.revocations.reasonFor(token("s-1"))).toBe("session_revoked");
    expect(late.revocations.reasonFor(token("s-2"))).toBe("session_revoked");
    expect(late.revocations.reasonFor(token("never"))).toBeUndefined();
  });
});
