import { DomainError } from "../errors.ts";
import { type ChangeEvent, type ChangeFeed, type ChangeLog, POLL_OVERLAP_MS } from "./change-feed.ts";

/** One message of a watcher's stream; each carries the cursor to resume from. */
export type StreamItem =
  | { readonly type: "change"; readonly change: ChangeEvent; readonly cursor: string }
  | { readonly type: "heartbeat"; readonly cursor: string }
  | { readonly type: "reset"; readonly reason: ResetReason; readonly cursor: string };

export type ResetReason = "no_cursor" | "cursor_too_old" | "cursor_unknown" | "too_many_changes";

export interface ChangeStreamOptions {
  /** Silence after which a heartbeat is sent. */
  readonly heartbeatMs: number;
  /** Messages a watcher may fall behind before it is cut off. */
  readonly bufferSize: number;
  /** A cursor older than this starts over with a reset (cached answers may outlive older changes). */
  readonly maxCursorAgeMs: number;
}

/** The replay reads at most this many changes (ChangeLog.since's limit); more means a reset. */
const REPLAY_LIMIT = 10_000;
/** A cursor this far ahead of the database clock was not made here. */
const FUTURE_TOLERANCE_MS = 60_000;
const CURSOR = /^c1\.([0-9]{1,16})$/;

const encodeCursor = (time: number): string => `c1.${Math.floor(time)}`;

/**
 * The change feed as a resumable stream, for services that decide locally
 * (WatchChanges). A cursor is a database time T promising that every change
 * created before T minus the feed's poll overlap has been delivered; resuming
 * replays the log from there, so a change can arrive twice but is never lost.
 *
 * Memory per watcher is bounded: changes wait in a queue of at most
 * `bufferSize` messages while the consumer (and the socket under it) is slow;
 * past that the queue is dropped, the watcher stops listening and the stream
 * ends with resource_exhausted "slow_consumer" — the consumer resumes from the
 * last cursor it received and catches up from the log instead of memory.
 */
export class ChangeStream {
  private readonly feed: ChangeFeed;
  private readonly log: ChangeLog;
  private readonly options: ChangeStreamOptions;
  /** Wakes every open watcher (to end it) when the replica shuts down. */
  private readonly watchers = new Set<() => void>();
  private closed = false;

  constructor(feed: ChangeFeed, log: ChangeLog, options: ChangeStreamOptions) {
    this.feed = feed;
    this.log = log;
    this.options = options;
  }

  /** Throws invalid_argument for a cursor that is not one of ours in shape. */
  static parseCursor(cursor: string): number | undefined {
    if (cursor === "") return undefined;
    const match = CURSOR.exec(cursor);
    if (match === null)
      throw new DomainError("invalid_argument", "invalid_cursor", "the cursor is not a WatchChanges cursor");
    return Number(match[1]);
  }

  async *watch(cursor: string, signal: AbortSignal): AsyncGenerator<StreamItem> {
    const from = ChangeStream.parseCursor(cursor);
    const queue: StreamItem[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    // Until the replay is out, live changes promise no more than the client's cursor did.
    let floor = from ?? 0;
    let caughtUp = false;
    const current = () =>
      encodeCursor(caughtUp ? Math.max(floor, this.feed.coveredUntil().getTime()) : floor);
    const enqueue = (item: StreamItem) => {
      if (overflowed) return;
      if (queue.length >= this.options.bufferSize) {
        overflowed = true;
        queue.length = 0;
        stop();
      } else {
        queue.push(item);
      }
      notify();
    };
    // Listening starts before the log is read, so nothing falls between the two.
    const stop = this.feed.onChange((change) => enqueue({ type: "change", change, cursor: current() }));
    const heartbeat = setInterval(() => {
      if (queue.length === 0) enqueue({ type: "heartbeat", cursor: current() });
    }, this.options.heartbeatMs);
    heartbeat.unref();
    const onAbort = () => notify();
    signal.addEventListener("abort", onAbort);
    this.watchers.add(onAbort);
    try {
      const now = (await this.log.databaseNow()).getTime();
      const reset = from === undefined ? "no_cursor" : this.staleness(from, now);
      if (reset === undefined) {
        const replay = await this.log.since(new Date(from! - POLL_OVERLAP_MS));
        if (replay.length >= REPLAY_LIMIT) {
          yield* this.restart("too_many_changes", now);
        } else {
          for (const change of replay)
            yield { type: "change", change: withoutCreatedAt(change), cursor: cursor };
        }
      } else {
        yield* this.restart(reset, now);
      }
      floor = now;
      caughtUp = true;
      yield { type: "heartbeat", cursor: current() };
      for (;;) {
        if (signal.aborted) return;
        if (this.closed) {
          throw new DomainError(
            "unavailable",
            "shutting_down",
            "this replica is shutting down; resume from the last cursor received",
          );
        }
        if (overflowed) {
          throw new DomainError(
            "resource_exhausted",
            "slow_consumer",
            "the watcher fell too far behind; resume from the last cursor received",
          );
        }
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      stop();
      clearInterval(heartbeat);
      signal.removeEventListener("abort", onAbort);
      this.watchers.delete(onAbort);
    }
  }

  /**
   * Ends every stream with unavailable "shutting_down" (and refuses new ones),
   * so that a draining replica is not held open by its watchers: they resume
   * from their cursors on another replica.
   */
  close(): void {
    this.closed = true;
    for (const wake of this.watchers) wake();
  }

  /** Why the cursor cannot be resumed from, or undefined when it can. */
  private staleness(from: number, now: number): ResetReason | undefined {
    if (from > now + FUTURE_TOLERANCE_MS) return "cursor_unknown";
    if (from < now - this.options.maxCursorAgeMs) return "cursor_too_old";
    return undefined;
  }

  /** A reset, then the revocations still in force: all a watcher starting over needs. */
  private async *restart(reason: ResetReason, now: number): AsyncGenerator<StreamItem> {
    // The cursor of these is the read time: everything created before it is in the snapshot or irrelevant after a reset.
    const cursor = encodeCursor(now);
    yield { type: "reset", reason, cursor };
    for (const change of await this.log.activeRevocations()) yield { type: "change", change, cursor };
  }
}

function withoutCreatedAt(change: ChangeEvent & { createdAt?: Date }): ChangeEvent {
  const { createdAt: _createdAt, ...event } = change;
  return event;
}
