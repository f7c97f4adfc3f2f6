import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { sleep } from "./failover-transport.ts";
import { type AuthService, type Change, ChangeKind } from "./gen/gatehouse/v1/auth_pb.js";

/** What a {@link ChangeWatcher} delivers. Changes may repeat: apply them idempotently. */
export interface ChangeHandler {
  /** Drop everything derived from earlier changes: the revocations in force follow. */
  onReset(reason: string): void;
  onChange(change: Change): void;
}

/** Options of {@link ChangeWatcher}. */
export interface ChangeWatcherOptions {
  /** No message (heartbeats included) for this long: the stream is taken for dead and reopened. Default 30 s. */
  readonly silenceTimeoutMs?: number;
  /** Reconnection backoff: first and largest delay (defaults 100 ms and 5 s), with jitter. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Told when the stream is up to date (true) or broken (false). */
  readonly onStatus?: (synced: boolean, error?: unknown) => void;
}

/**
 * Consumes AuthService.WatchChanges for as long as it runs: reconnects with
 * backoff after any failure (on the next replica, when the client has several)
 * and resumes from the last cursor received, so no change is lost while it
 * is away. `synced` is true from the first heartbeat of a connection (the
 * server sends one once the replay is out) until that connection fails.
 */
export class ChangeWatcher {
  private readonly auth: Client<typeof AuthService>;
  private readonly handler: ChangeHandler;
  private readonly options: Required<Omit<ChangeWatcherOptions, "onStatus">> &
    Pick<ChangeWatcherOptions, "onStatus">;
  private cursorValue = "";
  private syncedValue = false;
  private lastMessage = 0;
  private resetCount = 0;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private connection: AbortController | undefined;

  constructor(auth: Client<typeof AuthService>, handler: ChangeHandler, options: ChangeWatcherOptions = {}) {
    this.auth = auth;
    this.handler = handler;
    this.options = {
      silenceTimeoutMs: options.silenceTimeoutMs ?? 30_000,
      initialBackoffMs: options.initialBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      onStatus: options.onStatus,
    };
  }

  /** The cursor a new connection resumes from ("" before the first message). */
  get cursor(): string {
    return this.cursorValue;
  }

  /** True while a connection is open and caught up. */
  get synced(): boolean {
    return this.syncedValue;
  }

  /** RESETs received: 1 after the first connection, more when a cursor could not be resumed from. */
  get resets(): number {
    return this.resetCount;
  }

  /** When the last message arrived (epoch ms; 0: never). */
  get lastMessageAt(): number {
    return this.lastMessage;
  }

  /** Starts watching (idempotent). */
  start(): void {
    this.running ??= this.run();
  }

  /** Resolves once synced, or false after `timeoutMs`. */
  async waitUntilSynced(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.syncedValue && Date.now() < deadline) await sleep(10, this.stopping.signal);
    return this.syncedValue;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.connection?.abort();
    await this.running;
  }

  private setSynced(synced: boolean, error?: unknown): void {
    if (this.syncedValue === synced) return;
    this.syncedValue = synced;
    this.options.onStatus?.(synced, error);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const connection = new AbortController();
      this.connection = connection;
      const silence = setInterval(
        () => {
          if (Date.now() - this.lastMessage > this.options.silenceTimeoutMs) connection.abort();
        },
        Math.min(1000, this.options.silenceTimeoutMs),
      );
      try {
        this.lastMessage = Math.max(this.lastMessage, Date.now() - this.options.silenceTimeoutMs / 2);
        for await (const message of this.auth.watchChanges(
          { cursor: this.cursorValue },
          { signal: connection.signal, timeoutMs: 0 },
        )) {
          this.lastMessage = Date.now();
          failures = 0;
          const event = message.event;
          if (event.case === "reset") {
            this.resetCount++;
            this.handler.onReset(event.value.reason);
          } else if (event.case === "change") this.handler.onChange(event.value);
          else if (event.case === "heartbeat") this.setSynced(true);
          // Only after the message is applied: a cursor promises everything before it was delivered.
          if (message.cursor !== "") this.cursorValue = message.cursor;
        }
        this.setSynced(false, new ConnectError("the change stream ended", Code.Unavailable));
      } catch (error) {
        this.setSynced(false, error);
        failures++;
      } finally {
        clearInterval(silence);
      }
      if (this.stopping.signal.aborted) break;
      // Exponential backoff with jitter in [½, 1] of it: never sooner than half the first delay.
      const backoff = Math.min(
        this.options.maxBackoffMs,
        this.options.initialBackoffMs * 2 ** Math.max(0, failures - 1),
      );
      await sleep(backoff * (0.5 + Math.random() / 2), this.stopping.signal);
    }
    this.setSynced(false);
  }
}

/** The change's expiry as epoch ms (Infinity when it has none). */
export function changeExpiry(change: Change): number {
  return change.expireTime === undefined
    ? Number.POSITIVE_INFINITY
    : timestampDate(change.expireTime).getTime();
}

export { ChangeKind };
