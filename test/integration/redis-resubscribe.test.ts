import { afterEach, describe, expect, it } from "vitest";
import { uniqueRedisPrefix } from "../../harness/redis.ts";
import { RedisCoordinationStore } from "../../src/cache/redis-coordination-store.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { REDIS_URL } from "../support/services.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";

/**
 * After a reconnect the subscriber sends SUBSCRIBE again. ioredis' own re-subscription
 * (autoResubscribe) leaves that command's promise without a handler: if Redis does not answer it
 * and the store is then closed (a replica shutting down while Redis hangs), its rejection is
 * unhandled, which ends a Node process. Gatehouse re-subscribes itself, handling failures, and
 * tries again on the next connection.
 */
describe("Redis pub/sub when re-subscribing after a reconnect fails", () => {
  const stores: RedisCoordinationStore[] = [];
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await proxy?.stop();
  });

  /** A store that reaches the real Redis through a proxy the test controls. */
  async function proxiedStore(prefix: string): Promise<{ store: RedisCoordinationStore; proxy: TcpProxy }> {
    const direct = new URL(REDIS_URL);
    proxy = new TcpProxy({ host: direct.hostname, port: Number(direct.port || 6379) });
    await proxy.start();
    const store = new RedisCoordinationStore(`redis://127.0.0.1:${proxy.port}`, prefix, LOGGER);
    stores.push(store);
    await store.connect();
    return { store, proxy };
  }

  it("a SUBSCRIBE Redis never answers leaves no rejection unhandled when the store closes", async () => {
    const { store, proxy } = await proxiedStore(uniqueRedisPrefix("resubscribe"));
    await store.subscribe("changes", () => {});
    const unhandled = await unhandledRejectionsDuring(async () => {
      let held = 0;
      proxy.holdWhen = (chunk) => {
        if (!sendsSubscribe(chunk)) return false;
        held++;
        return true;
      };
      proxy.dropConnections();
      while (held === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await store.close();
    });
    expect(unhandled.map(String)).toEqual([]);
  });

  it("a connection cut in the middle of re-subscribing: the subscription is back once one holds", async () => {
    const prefix = uniqueRedisPrefix("resubscribe");
    const { store, proxy } = await proxiedStore(prefix);
    const publisher = new RedisCoordinationStore(REDIS_URL, prefix, LOGGER);
    stores.push(publisher);
    await publisher.connect();
    const received: string[] = [];
    await store.subscribe("changes", (message) => received.push(message));
    let cuts = 0;
    const unhandled = await unhandledRejectionsDuring(async () => {
      proxy.cutWhen = (chunk) => {
        if (cuts > 0 || !sendsSubscribe(chunk)) return false;
        cuts++;
        return true;
      };
      proxy.dropConnections();
      // Until a message published now reaches the listener: the subscription is back.
      let attempt = 0;
      while (!received.includes(`after-${attempt}`)) {
        attempt++;
        await publisher.publish("changes", `after-${attempt}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    expect(cuts).toBe(1);
    expect(unhandled.map(String)).toEqual([]);
  });
});

const LOGGER = createLogger("silent");

const sendsSubscribe = (chunk: Buffer) => chunk.toString("latin1").toLowerCase().includes("subscribe");

/** The rejections nobody handled while `work` ran, and until they would have been reported. */
async function unhandledRejectionsDuring(work: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await work();
    // A rejection is reported once the microtask queue has drained: let it surface.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return unhandled;
}

describe("Redis connection errors", () => {
  it("a second error on the same socket (a TLS alert after a refused certificate) throws nothing", async () => {
    const store = new RedisCoordinationStore(REDIS_URL, uniqueRedisPrefix("socket-errors"), LOGGER);
    try {
      await store.connect();
      // The client's own socket, as ioredis opened it.
      const socket = (store as unknown as { client: { stream: NodeJS.EventEmitter } }).client.stream;
      socket.emit("error", new Error("certificate refused"));
      expect(() => socket.emit("error", new Error("tlsv1 alert decode error"))).not.toThrow();
    } finally {
      await store.close();
    }
  });
});
