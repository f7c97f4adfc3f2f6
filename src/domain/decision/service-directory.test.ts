import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryChangeLog } from "../../../test/support/fakes/memory-change-log.ts";
import { serviceRecord } from "../../../test/support/fakes/service-record.ts";
import { serviceSourceOf } from "../../../test/support/fakes/service-source.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { ChangeFeed } from "../change-feed/change-feed.ts";
import { FeedAccessChangeNotifier } from "../change-feed/feed-access-change-notifier.ts";
import type { ServiceRecord } from "../registry/service-record.ts";
import { servedOnReturn } from "./served-on-return.ts";
import { ServiceDirectory, type ServiceSource } from "./service-directory.ts";

const service = serviceRecord;

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A registry whose every read waits until the test answers it: `loads` are
 * full reloads (answered with the services; the change number defaults to
 * the greatest version among them), `reads` one service each.
 */
class DeferredRegistry implements ServiceSource {
  readonly loads: Array<
    Deferred<ServiceRecord[]> & { withVersion(version: number, services: ServiceRecord[]): void }
  > = [];
  readonly reads: Array<Deferred<ServiceRecord | undefined> & { id: string }> = [];
  loadAll = (): Promise<{ version: number; services: ServiceRecord[] }> =>
    new Promise((resolve, reject) => {
      this.loads.push({
        resolve: (services) =>
          resolve({ version: Math.max(0, ...services.map((service) => service.version)), services }),
        withVersion: (version, services) => resolve({ version, services }),
        reject,
      });
    });
  loadOne = (id: string): Promise<ServiceRecord | undefined> =>
    new Promise((resolve, reject) => {
      this.reads.push({ id, resolve, reject });
    });
  /** The registry's last change number, as the test sets it. */
  latest = 0;
  latestVersion = async (): Promise<number> => this.latest;
}

/** Lets queued microtasks and promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Whether the promise has settled by now; its value if so. */
async function peek<T>(promise: Promise<T>): Promise<{ done: true; value: T } | { done: false }> {
  let state: { done: true; value: T } | { done: false } = { done: false };
  void promise.then((value) => {
    state = { done: true, value };
  });
  await settle();
  return state;
}

describe("ServiceDirectory: full reloads (at start, and the fallback)", () => {
  let registry: DeferredRegistry;
  let store: MemoryCoordinationStore;
  let feed: ChangeFeed;
  let directory: ServiceDirectory;

  const change = async () => {
    await feed.publish({ kind: "services_changed", key: "*", value: 0, expiresAt: Date.now() + 60_000 });
    await settle();
  };

  /** A directory that has served its first load: [billing, active]. */
  const loaded = async () => {
    const first = directory.byKey("billing");
    registry.loads[0]!.resolve([service()]);
    expect(await first).toMatchObject({ status: "active" });
  };

  beforeEach(async () => {
    registry = new DeferredRegistry();
    store = new MemoryCoordinationStore();
    feed = new ChangeFeed(new MemoryChangeLog(), store, createLogger("silent"), {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 60_000,
    });
    await feed.start();
    directory = new ServiceDirectory(registry, new Map(), feed);
  });

  afterEach(async () => {
    vi.useRealTimers();
    await feed.close();
    await store.close();
  });

  it("waits for the first load only: there is nothing to answer from before it", async () => {
    const first = directory.byKey("billing");
    expect(await peek(first)).toEqual({ done: false });
    expect(registry.loads).toHaveLength(1);
    registry.loads[0]!.resolve([service()]);
    expect(await first).toMatchObject({ id: "svc-a" });
    expect(await directory.byHostName("billing.internal:443")).toMatchObject({ id: "svc-a" });
  });

  it("answers from the directory in place while a reload is pending, and from the new one after it", async () => {
    await loaded();
    await change();
    expect(registry.loads).toHaveLength(2); // the change started a reload in the background
    // Not waiting for it: the reload has not answered, the lookup has.
    expect(await peek(directory.byKey("billing"))).toMatchObject({
      done: true,
      value: { status: "active" },
    });
    expect(await peek(directory.byHostName("billing.internal"))).toMatchObject({ done: true });
    registry.loads[1]!.resolve([service({ status: "disabled", hosts: [] })]);
    await settle();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });
    expect(await directory.byHostName("billing.internal")).toBeUndefined();
  });

  it("tells its listeners after a swap, and only then", async () => {
    const swaps: number[] = [];
    directory.onSwap(() => swaps.push(swaps.length));
    await loaded();
    expect(swaps).toHaveLength(1);
    await change();
    expect(swaps).toHaveLength(1);
    registry.loads[1]!.resolve([service()]);
    await settle();
    expect(swaps).toHaveLength(2);
  });

  it("makes a lookup that misses wait for the pending reload (the service may just have been created)", async () => {
    await loaded();
    await change();
    const created = directory.byKey("reports");
    expect(await peek(created)).toEqual({ done: false });
    registry.loads[1]!.resolve([service(), service({ id: "svc-b", slug: "reports", hosts: [] })]);
    expect(await created).toMatchObject({ id: "svc-b" });
    // With nothing pending, a miss is answered at once.
    expect(await peek(directory.byKey("nowhere"))).toEqual({ done: true, value: undefined });
  });

  it("discards an older reload that finishes after a newer one", async () => {
    await loaded();
    await change(); // reload A starts
    await change(); // reload B starts: A may have read the registry before this change
    expect(registry.loads).toHaveLength(3);
    registry.loads[2]!.resolve([service({ displayName: "newer" })]);
    await settle();
    expect(await directory.byKey("billing")).toMatchObject({ displayName: "newer" });
    registry.loads[1]!.resolve([service({ displayName: "older" })]);
    await settle();
    expect(await directory.byKey("billing")).toMatchObject({ displayName: "newer" });
    expect(registry.loads).toHaveLength(3);
  });

  it("shares reloads among a burst of changes: two in flight, then one covering the rest", async () => {
    await loaded();
    for (let i = 0; i < 100; i++) await change(); // each heard in its own tick
    expect(registry.loads).toHaveLength(3);
    registry.loads[1]!.resolve([service({ displayName: "1" })]);
    await settle();
    // One more, started after every change of the burst was heard.
    expect(registry.loads).toHaveLength(4);
    registry.loads[2]!.resolve([service({ displayName: "2" })]);
    registry.loads[3]!.resolve([service({ displayName: "last" })]);
    await settle();
    expect(registry.loads).toHaveLength(4);
    expect(await directory.byKey("billing")).toMatchObject({ displayName: "last" });
    await directory.whenCurrent();
  });

  it("coalesces changes heard in one tick (a poll) into one reload", async () => {
    await loaded();
    await Promise.all(
      Array.from({ length: 50 }, () =>
        feed.publish({ kind: "services_changed", key: "*", value: 0, expiresAt: Date.now() + 60_000 }),
      ),
    );
    await settle();
    expect(registry.loads).toHaveLength(2);
  });

  it("keeps serving the directory in place when a reload fails, and retries later", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await loaded();
    await change();
    const current = directory.whenCurrent();
    registry.loads[1]!.reject(new Error("database down"));
    await current; // settles on the failure: nothing newer to wait for
    expect(await directory.byKey("billing")).toMatchObject({ status: "active" });
    expect(registry.loads).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.loads).toHaveLength(3);
    registry.loads[2]!.resolve([service({ status: "disabled" })]);
    await settle();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });
  });

  it("fails a lookup when there is no directory at all, and loads again on the next", async () => {
    const first = directory.byKey("billing");
    registry.loads[0]!.reject(new Error("database down"));
    await expect(first).rejects.toThrow("database down");
    const second = directory.byKey("billing");
    await settle();
    expect(registry.loads).toHaveLength(2);
    registry.loads[1]!.resolve([service()]);
    expect(await second).toMatchObject({ id: "svc-a" });
  });

  it("does not ask a database that fails at once again and again: the next try waits for the timer or a lookup", async () => {
    // Each load is refused at once; past 20 of them the source stops answering, so that a loop
    // (which would never let a timer run) ends and the count below shows it instead of hanging.
    let loads = 0;
    const failing: ServiceSource = {
      loadAll: () => (++loads > 20 ? new Promise(() => {}) : Promise.reject(new Error("database down"))),
      loadOne: () => Promise.reject(new Error("database down")),
      latestVersion: () => Promise.reject(new Error("database down")),
    };
    const broken = new ServiceDirectory(failing, new Map(), feed);
    const lookupFails = expect(broken.byKey("billing")).rejects.toThrow("database down");
    await change(); // a change heard meanwhile asks for another reload
    await lookupFails;
    await settle();
    expect(loads).toBeLessThanOrEqual(3);
  });
});

/** A coordination store whose health the test sets, to play an outage and the reconnect after it. */
class FlakyCoordinationStore extends MemoryCoordinationStore {
  private healthy = true;
  private readonly healthListeners: Array<(healthy: boolean) => void> = [];
  override isHealthy(): boolean {
    return this.healthy;
  }
  override onHealthChange(listener: (healthy: boolean) => void): void {
    this.healthListeners.push(listener);
  }
  setHealthy(healthy: boolean): void {
    this.healthy = healthy;
    for (const listener of this.healthListeners) listener(healthy);
  }
}

describe("ServiceDirectory: changes applied one service at a time", () => {
  let registry: DeferredRegistry;
  let store: FlakyCoordinationStore;
  let feed: ChangeFeed;
  let directory: ServiceDirectory;
  const reports = (overrides: Partial<ServiceRecord> = {}) =>
    service({ id: "svc-b", slug: "reports", audience: "reports", hosts: ["reports.internal"], ...overrides });

  /** A change naming one service, as the registry announces it. */
  const changed = async (serviceId: string, version: number) => {
    await feed.publish({
      kind: "services_changed",
      key: serviceId,
      value: version,
      expiresAt: Date.now() + 60_000,
    });
    await settle();
  };

  /** Loaded whole at change number 5: billing (version 3) and reports (version 5). */
  const loaded = async () => {
    const first = directory.byKey("billing");
    registry.loads[0]!.withVersion(5, [service({ version: 3 }), reports({ version: 5 })]);
    await first;
  };

  beforeEach(async () => {
    registry = new DeferredRegistry();
    store = new FlakyCoordinationStore();
    feed = new ChangeFeed(new MemoryChangeLog(), store, createLogger("silent"), {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 60_000,
    });
    await feed.start();
    directory = new ServiceDirectory(registry, new Map([["legacy.internal", "billing"]]), feed, {
      gapGraceMs: 200,
    });
  });

  afterEach(async () => {
    vi.useRealTimers();
    await feed.close();
    await store.close();
  });

  it("adds a created service by reading it alone, found by id, slug and host", async () => {
    await loaded();
    await changed("svc-c", 6);
    expect(registry.reads.map((read) => read.id)).toEqual(["svc-c"]);
    registry.reads[0]!.resolve(
      service({ id: "svc-c", slug: "ledger", audience: "ledger", hosts: ["Ledger.internal"], version: 6 }),
    );
    await directory.whenCurrent();
    expect(await directory.byKey("svc-c")).toMatchObject({ slug: "ledger" });
    expect(await directory.byKey("ledger")).toMatchObject({ id: "svc-c" });
    expect(await directory.byHostName("ledger.internal:8443")).toMatchObject({ id: "svc-c" });
    expect(registry.loads).toHaveLength(1); // no full reload
  });

  it("updates a service in place: its status, and hosts moved from the old to the new", async () => {
    await loaded();
    await changed("svc-a", 6);
    registry.reads[0]!.resolve(service({ status: "disabled", hosts: ["pay.internal"], version: 6 }));
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled", version: 6 });
    expect(await directory.byHostName("pay.internal")).toMatchObject({ id: "svc-a" });
    expect(await directory.byHostName("billing.internal")).toBeUndefined();
    // The configured route to the slug still leads to it.
    expect(await directory.byHostName("legacy.internal")).toMatchObject({ id: "svc-a", status: "disabled" });
    expect(registry.loads).toHaveLength(1);
  });

  it("removes a deleted service (the read finds none), with its slug, hosts and configured route", async () => {
    await loaded();
    await changed("svc-a", 6);
    registry.reads[0]!.resolve(undefined);
    await directory.whenCurrent();
    expect(await directory.byKey("svc-a")).toBeUndefined();
    expect(await directory.byKey("billing")).toBeUndefined();
    expect(await directory.byHostName("billing.internal")).toBeUndefined();
    expect(await directory.byHostName("legacy.internal")).toBeUndefined();
    expect(await directory.byKey("reports")).toMatchObject({ id: "svc-b" });
    expect(registry.loads).toHaveLength(1);
  });

  it("tells its listeners once a change is put in place, not when it is heard", async () => {
    await loaded();
    let swaps = 0;
    directory.onSwap(() => swaps++);
    await changed("svc-a", 6);
    expect(swaps).toBe(0);
    // Until the read answers, lookups that hit answer from the directory in place, at once.
    expect(await peek(directory.byKey("billing"))).toMatchObject({ done: true, value: { version: 3 } });
    registry.reads[0]!.resolve(service({ status: "disabled", version: 6 }));
    await settle();
    expect(swaps).toBe(1);
  });

  it("skips a duplicate or older change: the copy held is at that number or newer", async () => {
    await loaded();
    await changed("svc-b", 5); // the version reports was loaded at
    await changed("svc-a", 3);
    await changed("svc-a", 2);
    expect(registry.reads).toHaveLength(0);
    expect(registry.loads).toHaveLength(1);
  });

  it("never takes a service back: a read older than the copy held is dropped, and a change heard mid-read reads again", async () => {
    await loaded();
    await changed("svc-a", 6);
    await changed("svc-a", 7); // heard while the first read is out
    expect(registry.reads).toHaveLength(1); // one read at a time per service
    registry.reads[0]!.resolve(service({ displayName: "six", version: 6 }));
    await settle();
    expect(registry.reads).toHaveLength(2); // it saw 6, 7 was heard: read again
    registry.reads[1]!.resolve(service({ displayName: "seven", version: 7 }));
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ displayName: "seven" });
    // A read that answers with an older copy than the one held changes nothing.
    await changed("svc-a", 8);
    registry.reads[2]!.resolve(service({ displayName: "stale", version: 5 }));
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ displayName: "seven" });
  });

  it("reads a service once for a read that already saw the later change", async () => {
    await loaded();
    await changed("svc-a", 6);
    await changed("svc-a", 7);
    registry.reads[0]!.resolve(service({ version: 7 })); // the row had both changes by then
    await directory.whenCurrent();
    expect(registry.reads).toHaveLength(1);
  });

  it("accepts changes heard out of order without a full reload when the hole closes within the grace", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await loaded();
    await changed("svc-b", 7); // 6 not heard yet: a hole
    await changed("svc-a", 6);
    for (const read of registry.reads)
      read.resolve(read.id === "svc-a" ? service({ version: 6 }) : reports({ version: 7 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.loads).toHaveLength(1);
    expect(await directory.byKey("reports")).toMatchObject({ version: 7 });
  });

  it("reloads whole, in the background, when a hole in the change numbers stays open past the grace", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await loaded();
    await changed("svc-b", 7); // 6 was missed
    registry.reads[0]!.resolve(reports({ displayName: "seven", version: 7 }));
    await vi.advanceTimersByTimeAsync(199);
    expect(registry.loads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.loads).toHaveLength(2);
    // Lookups that hit do not wait for it; its result brings the missed change in.
    expect(await peek(directory.byKey("billing"))).toMatchObject({ done: true, value: { status: "active" } });
    registry.loads[1]!.withVersion(7, [service({ status: "disabled", version: 6 }), reports({ version: 7 })]);
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });
    // The hole is closed: the next change in sequence is a delta again.
    await changed("svc-a", 8);
    expect(registry.reads).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(registry.loads).toHaveLength(2);
  });

  /** A feed polling every second (on the fake clock) and a directory on it, loaded whole at change number 5. */
  const polled = async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    await feed.close();
    feed = new ChangeFeed(new MemoryChangeLog(), store, createLogger("silent"), {
      pollIntervalMs: 1000,
      degradedPollIntervalMs: 1000,
    });
    await feed.start();
    directory = new ServiceDirectory(registry, new Map(), feed, { gapGraceMs: 200 });
    await loaded();
  };

  it("reloads whole when the database holds a change number still not heard of at the next poll", async () => {
    await polled();
    registry.latest = 6; // written, and its writer died before publishing
    await vi.advanceTimersByTimeAsync(1000); // a poll: 6 is not heard of yet
    expect(registry.loads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000); // the next: still not
    expect(registry.loads).toHaveLength(2);
  });

  it("does not reload for a change number whose change arrives before the next poll", async () => {
    await polled();
    registry.latest = 6;
    await vi.advanceTimersByTimeAsync(1000); // the poll sees 6 before its change is heard
    await changed("svc-a", 6);
    registry.reads[0]!.resolve(service({ version: 6 }));
    await vi.advanceTimersByTimeAsync(3000);
    expect(registry.loads).toHaveLength(1);
  });

  it("reloads whole when the coordination store comes back after an outage (changes may have been missed)", async () => {
    await loaded();
    store.setHealthy(false);
    await settle();
    expect(registry.loads).toHaveLength(1);
    store.setHealthy(true);
    await settle();
    expect(registry.loads).toHaveLength(2);
  });

  it("keeps a change applied while a full reload reads over that reload's older copy, and a deletion too", async () => {
    await loaded();
    await feed.publish({ kind: "services_changed", key: "*", value: 0, expiresAt: Date.now() + 60_000 });
    await settle();
    expect(registry.loads).toHaveLength(2); // a full reload is reading
    await changed("svc-a", 6);
    await changed("svc-b", 7);
    registry.reads[0]!.resolve(service({ status: "disabled", version: 6 }));
    registry.reads[1]!.resolve(undefined);
    await settle();
    // The reload read both before those changes.
    registry.loads[1]!.withVersion(5, [service({ version: 3 }), reports({ version: 5 })]);
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled", version: 6 });
    expect(await directory.byKey("reports")).toBeUndefined();
  });

  it("falls back to a full reload when reading the one service fails", async () => {
    await loaded();
    await changed("svc-a", 6);
    registry.reads[0]!.reject(new Error("database down"));
    await settle();
    expect(registry.loads).toHaveLength(2);
    registry.loads[1]!.withVersion(6, [service({ status: "disabled", version: 6 }), reports({ version: 5 })]);
    await directory.whenCurrent();
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });
  });

  it("makes a miss wait for a pending read (a service just created), and a hit never", async () => {
    await loaded();
    await changed("svc-c", 6);
    const created = directory.byKey("ledger");
    expect(await peek(created)).toEqual({ done: false });
    expect(await peek(directory.byKey("billing"))).toMatchObject({ done: true });
    registry.reads[0]!.resolve(
      service({ id: "svc-c", slug: "ledger", audience: "ledger", hosts: [], version: 6 }),
    );
    expect(await created).toMatchObject({ id: "svc-c" });
  });

  it("resolves a host claimed by two services as a full reload does, whatever order the changes came in", async () => {
    // Two replicas: one applies the changes one by one, the other reads the result whole.
    await loaded();
    await changed("svc-b", 6);
    registry.reads[0]!.resolve(reports({ hosts: ["billing.internal"], version: 6 }));
    await directory.whenCurrent();
    const byDeltas = await directory.byHostName("billing.internal");

    const other = new ServiceDirectory(
      serviceSourceOf(() => [reports({ hosts: ["billing.internal"], version: 6 }), service({ version: 3 })]),
      new Map(),
      feed,
    );
    expect((await other.byHostName("billing.internal"))?.id).toBe(byDeltas?.id);
    expect(byDeltas?.id).toBe("svc-b"); // the greater id
    // The claim released, the other claimant has the host again.
    await changed("svc-b", 7);
    registry.reads[1]!.resolve(reports({ hosts: [], version: 7 }));
    await directory.whenCurrent();
    expect(await directory.byHostName("billing.internal")).toMatchObject({ id: "svc-a" });
  });
});

describe("servedOnReturn", () => {
  it("returns from a registry change once this replica serves it, and even if the reload fails", async () => {
    const registry = new DeferredRegistry();
    const store = new MemoryCoordinationStore();
    const feed = new ChangeFeed(new MemoryChangeLog(), store, createLogger("silent"), {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 60_000,
    });
    await feed.start();
    const directory = new ServiceDirectory(registry, new Map(), feed);
    const first = directory.byKey("billing");
    registry.loads[0]!.resolve([service()]);
    await first;
    const notifier = servedOnReturn(new FeedAccessChangeNotifier(feed), directory);

    const write = notifier.servicesChanged({ serviceId: "svc-a", version: 2 });
    expect(await peek(write)).toEqual({ done: false });
    expect(registry.reads.map((read) => read.id)).toEqual(["svc-a"]);
    registry.reads[0]!.resolve(service({ status: "disabled", version: 2 }));
    await write;
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });
    expect(registry.loads).toHaveLength(1);

    // The one-service read fails: a full reload takes over, and the write returns even if that fails too.
    const failing = notifier.servicesChanged({ serviceId: "svc-a", version: 3 });
    await settle();
    registry.reads[1]!.reject(new Error("database down"));
    await settle();
    expect(registry.loads).toHaveLength(2);
    registry.loads[1]!.reject(new Error("database down"));
    await failing;
    await feed.close();
    await store.close();
  });
});
