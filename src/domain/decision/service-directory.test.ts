import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryChangeLog } from "../../../test/support/fakes/memory-change-log.ts";
import { serviceRecord } from "../../../test/support/fakes/service-record.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { ChangeFeed } from "../change-feed/change-feed.ts";
import { FeedAccessChangeNotifier } from "../change-feed/feed-access-change-notifier.ts";
import type { ServiceRecord } from "../registry/service-record.ts";
import { servedOnReturn } from "./served-on-return.ts";
import { ServiceDirectory } from "./service-directory.ts";

const service = serviceRecord;

/** A registry whose every `all()` waits until the test answers it. */
class DeferredRegistry {
  readonly loads: Array<{ resolve: (services: ServiceRecord[]) => void; reject: (error: Error) => void }> =
    [];
  all = (): Promise<ServiceRecord[]> =>
    new Promise((resolve, reject) => {
      this.loads.push({ resolve, reject });
    });
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

describe("ServiceDirectory", () => {
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
    directory = new ServiceDirectory(registry.all, new Map(), feed);
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
    const directory = new ServiceDirectory(registry.all, new Map(), feed);
    const first = directory.byKey("billing");
    registry.loads[0]!.resolve([service()]);
    await first;
    const notifier = servedOnReturn(new FeedAccessChangeNotifier(feed), directory);

    const write = notifier.servicesChanged();
    expect(await peek(write)).toEqual({ done: false });
    registry.loads[1]!.resolve([service({ status: "disabled" })]);
    await write;
    expect(await directory.byKey("billing")).toMatchObject({ status: "disabled" });

    const failing = notifier.servicesChanged();
    await settle();
    registry.loads[2]!.reject(new Error("database down"));
    await failing;
    await feed.close();
    await store.close();
  });
});
