import { Redis } from "ioredis";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { Logger } from "../observability/logger.ts";

// Fixed window: INCR, and set the expiry only when the key is new, atomically.
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

/** The Lua scripts registered with defineCommand. */
interface ScriptCommands {
  gatehouseIncrement(key: string, windowMs: string): Promise<unknown>;
}

/**
 * Redis adapter. Commands fail fast while Redis is unreachable (no offline
 * queue), so callers see the outage at once and apply their documented policy;
 * ioredis keeps reconnecting in the background.
 */
export class RedisCoordinationStore implements CoordinationStore {
  readonly kind = "redis" as const;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private readonly healthListeners: Array<(healthy: boolean) => void> = [];
  private healthy = false;
  private readonly logger: Logger;

  private readonly prefix: string;

  /** `tls`: for rediss:// URLs, e.g. the CA the server's certificate must chain to. */
  constructor(url: string, prefix: string, logger: Logger, tls?: { readonly ca: Buffer }) {
    this.logger = logger;
    this.prefix = prefix;
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
      ...(tls === undefined ? {} : { tls: { ca: tls.ca } }),
    };
    this.client = new Redis(url, options);
    // EVALSHA with a fallback to EVAL: the script text is not sent on every call.
    this.client.defineCommand("gatehouseIncrement", { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
    this.client.on("ready", () => this.setHealthy(true));
    this.client.on("close", () => this.setHealthy(false));
    this.client.on("error", (error: Error) => {
      this.logger.warn({ err: { message: error.message } }, "redis connection error");
    });
    this.subscriber.on("error", () => {});
    this.subscriber.on("message", (channel: string, message: string) => {
      const name = channel.slice(this.prefix.length);
      for (const listener of this.listeners.get(name) ?? []) listener(message);
    });
    // After a reconnect the subscriber re-subscribes by itself (autoResubscribe).
  }

  /** Connects both clients; resolves even if Redis is down (the clients keep retrying). */
  async connect(): Promise<void> {
    await Promise.allSettled([this.client.connect(), this.subscriber.connect()]);
    if (!this.healthy) this.logger.warn("redis is unreachable at start-up; retrying in the background");
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    if (healthy) this.logger.info("redis connected");
    else this.logger.error("redis connection lost");
    for (const listener of this.healthListeners) listener(healthy);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
    return result === "OK";
  }

  async delete(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const commands = this.client as unknown as ScriptCommands;
    const [count, ttl] = (await commands.gatehouseIncrement(this.prefix + key, String(windowMs))) as [
      number,
      number,
    ];
    return { count, resetInMs: ttl > 0 ? ttl : windowMs };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(this.prefix + channel);
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(this.prefix + channel).catch(() => {});
      }
    };
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): void {
    this.healthListeners.push(listener);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}
