import { Redis } from "ioredis";
import { DomainError } from "../domain/errors.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { Logger } from "../observability/logger.ts";
import type { Tracing } from "../observability/tracing.ts";
import { traceRedisCommands } from "./redis-spans.ts";

// Fixed window: INCR, and set the expiry only when the key is new, atomically.
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

/** How often the client PINGs Redis: an idle replica notices a Redis that stopped answering within this. */
const HEARTBEAT_INTERVAL_MS = 1000;
/** How long start-up waits for Redis before going on without it. */
const CONNECT_WAIT_MS = 3000;
/** Redis errors that mean "not serving now" rather than "bad command". */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN)\b/;

/** Every failure to reach Redis, whatever ioredis called it, is one retryable outage for the caller. */
function unavailable(cause?: unknown): DomainError {
  return new DomainError(
    "unavailable",
    "coordination_unavailable",
    "shared state (Redis) is unreachable; try again",
    { cause },
  );
}

const isCommandTimeout = (error: unknown) => error instanceof Error && error.message === "Command timed out";

/** The Lua scripts registered with defineCommand. */
interface ScriptCommands {
  gatehouseIncrement(key: string, windowMs: string): Promise<unknown>;
}

/**
 * Redis adapter. Commands fail fast while Redis is unreachable (no offline
 * queue), so callers see the outage at once and apply their documented policy;
 * ioredis keeps reconnecting in the background.
 *
 * A Redis that stops answering without closing its connections (a paused
 * process, a partition that drops packets) is caught by the command timeout:
 * the first command that times out marks the store unhealthy, and from then on
 * commands fail at once (coordination_unavailable) instead of each waiting out
 * its timeout, until a heartbeat PING is answered again.
 */
export class RedisCoordinationStore implements CoordinationStore {
  readonly kind = "redis" as const;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();
  private readonly healthListeners: Array<(healthy: boolean) => void> = [];
  private healthy = false;
  /** The connection is up but a command timed out: Redis is not answering. */
  private stalled = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly logger: Logger;

  private readonly prefix: string;

  /**
   * `tls`: for rediss:// URLs, e.g. the CA the server's certificate must chain to; `tracing`:
   * commands become child spans of the RPC that sends them.
   */
  constructor(
    url: string,
    prefix: string,
    logger: Logger,
    commandTimeoutMs = 1000,
    tls?: { readonly ca: Buffer },
    tracing?: Tracing,
  ) {
    this.logger = logger;
    this.prefix = prefix;
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: commandTimeoutMs,
      // A command whose caller was told it failed must not run later, after a reconnect.
      autoResendUnfulfilledCommands: false,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
      ...(tls === undefined ? {} : { tls: { ca: tls.ca } }),
    };
    this.client = new Redis(url, options);
    keepSocketErrorsHandled(this.client);
    if (tracing !== undefined) traceRedisCommands(this.client, tracing);
    // EVALSHA with a fallback to EVAL: the script text is not sent on every call.
    this.client.defineCommand("gatehouseIncrement", { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    // Not ioredis' autoResubscribe: its SUBSCRIBE after a reconnect has no rejection handler, so a
    // Redis that does not answer it until the store closes ended the process (an unhandled
    // rejection). The "ready" listener below subscribes every channel again, and handles failures.
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true, autoResubscribe: false });
    keepSocketErrorsHandled(this.subscriber);
    this.client.on("ready", () => {
      this.stalled = false;
      this.setHealthy(true);
    });
    this.client.on("close", () => this.setHealthy(false));
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    this.client.on("error", (error: Error) => {
      this.logger.warn({ err: { message: error.message } }, "redis connection error");
    });
    this.subscriber.on("error", () => {});
    // Every channel with a listener is subscribed whenever the connection is ready (again): also
    // one whose SUBSCRIBE failed before (Redis down or not answering when it was sent).
    this.subscriber.on("ready", () => {
      for (const channel of this.listeners.keys()) {
        this.subscriber.subscribe(this.prefix + channel).catch(() => {});
      }
    });
    this.subscriber.on("message", (channel: string, message: string) => {
      const name = channel.slice(this.prefix.length);
      for (const listener of this.listeners.get(name) ?? []) listener(message);
    });
  }

  /** Connects both clients; resolves even if Redis is down or not answering (the clients keep retrying). */
  async connect(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.client.connect(), this.subscriber.connect()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CONNECT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!this.healthy) this.logger.warn("redis is unreachable at start-up; retrying in the background");
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return;
    this.healthy = healthy;
    if (healthy) this.logger.info("redis connected");
    else this.logger.error("redis connection lost");
    for (const listener of this.healthListeners) listener(healthy);
  }

  /** While the connection is up, a PING each interval: answered, Redis is back; timed out, it is stalled. */
  private beat(): void {
    if (this.client.status !== "ready") return;
    this.client.ping().then(
      () => {
        if (!this.stalled) return;
        this.stalled = false;
        this.setHealthy(true);
      },
      (error: unknown) => {
        if (isCommandTimeout(error)) this.stall();
      },
    );
  }

  private stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.logger.error("redis stopped answering (command timed out)");
    this.setHealthy(false);
  }

  /** Runs a command; any failure to reach Redis becomes coordination_unavailable. */
  private async run<T>(command: () => Promise<T>): Promise<T> {
    if (this.stalled) throw unavailable();
    try {
      return await command();
    } catch (error) {
      if (isCommandTimeout(error)) this.stall();
      const name = error instanceof Error ? error.name : "";
      // A reply Redis gave to a command it refuses is a bug here, not an outage: it stays internal.
      if (name === "ReplyError" && !UNAVAILABLE_REPLY.test((error as Error).message)) throw error;
      throw unavailable(error);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.run(() => this.client.get(this.prefix + key))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run(() => this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs))));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.run(() =>
      this.client.set(this.prefix + key, value, "PX", Math.max(1, Math.ceil(ttlMs)), "NX"),
    );
    return result === "OK";
  }

  async delete(key: string): Promise<void> {
    await this.run(() => this.client.del(this.prefix + key));
  }

  async increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const commands = this.client as unknown as ScriptCommands;
    const [count, ttl] = (await this.run(() =>
      commands.gatehouseIncrement(this.prefix + key, String(windowMs)),
    )) as [number, number];
    return { count, resetInMs: ttl > 0 ? ttl : windowMs };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(this.prefix + channel, message));
  }

  /**
   * Registers the listener, then subscribes. If that SUBSCRIBE fails the call rejects but the
   * listener stays registered: the channel is subscribed again when the connection is ready.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    const listeners = set;
    const unsubscribe = async () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(this.prefix + channel).catch(() => {});
      }
    };
    if (first) await this.run(() => this.subscriber.subscribe(this.prefix + channel));
    return unsubscribe;
  }

  isHealthy(): boolean {
    return this.healthy && !this.stalled;
  }

  onHealthChange(listener: (healthy: boolean) => void): void {
    this.healthListeners.push(listener);
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}

/**
 * ioredis listens for its socket's "error" once: a second error on the same socket (a TLS alert
 * arriving after a refused certificate) found no listener, which Node turns into an uncaught
 * exception that ends the process. Every socket the client opens gets a listener of its own;
 * ioredis still hears the first error and reconnects as before.
 */
function keepSocketErrorsHandled(client: Redis): void {
  type Connector = { connect(...args: unknown[]): Promise<NodeJS.EventEmitter> };
  const connector = (client as unknown as { connector: Connector }).connector;
  const connect = connector.connect.bind(connector);
  connector.connect = async (...args: unknown[]) => {
    const socket = await connect(...args);
    socket.on("error", ignoreSocketError);
    return socket;
  };
}

function ignoreSocketError(): void {}
