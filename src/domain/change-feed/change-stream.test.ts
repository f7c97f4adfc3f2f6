import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryChangeLog } from "../../../test/support/fakes/memory-change-log.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { isDomainError } from "../errors.ts";
import { ChangeFeed, POLL_OVERLAP_MS } from "./change-feed.ts";
import { ChangeStream, type StreamItem } from "./change-stream.ts";

const HOUR = 3_600_000;

describe("ChangeStream", () => {
  let log: MemoryChangeLog;
  let feed: ChangeFeed;
  let stream: ChangeStream;
  let abort: AbortController;

  beforeEach(async () => {
    log = new MemoryChangeLog();
    feed = new ChangeFeed(log, new MemoryCoordinationStore(), createLogger("silent"), {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 60_000,
    });
    await feed.start();
    stream = new ChangeStream(feed, log, { heartbeatMs: 60_000, bufferSize: 3, maxCursorAgeMs: HOUR });
    abort = new AbortController();
  });

  afterEach(async () => {
    abort.abort();
    await feed.close();
  });

  const revokeSession = (key: string) =>
    feed.publish({ kind: "session_revoked", key, value: 0, expiresAt: Date.now() + HOUR });

  /** Reads until `count` items arrived (the generator is left suspended, not closed). */
  async function take(iterator: AsyncGenerator<StreamItem>, count: number): Promise<StreamItem[]> {
    const items: StreamItem[] = [];
    while (items.length < count) {
      const next = await iterator.next();
      if (next.done) break;
      items.push(next.value);
    }
    return items;
  }

  it("starts without a cursor with RESET, the revocations in force and a caught-up heartbeat, then live changes", async () => {
    await revokeSession("old-session");
    await feed.publish({ kind: "access_changed", key: "someone", value: 0, expiresAt: Date.now() + HOUR });
    const iterator = stream.watch("", abort.signal);
    const first = await take(iterator, 3);
    expect(first.map((item) => item.type)).toEqual(["reset", "change", "heartbeat"]);
    expect(first[0]).toMatchObject({ reason: "no_cursor" });
    expect(first[1]).toMatchObject({ change: { kind: "session_revoked", key: "old-session" } });
    await revokeSession("new-session");
    expect((await take(iterator, 1))[0]).toMatchObject({ type: "change", change: { key: "new-session" } });
  });

  it("resumes from a cursor by replaying the log from it (less the poll overlap), without RESET", async () => {
    const iterator = stream.watch("", abort.signal);
    const heartbeat = (await take(iterator, 2))[1]!;
    expect(heartbeat.type).toBe("heartbeat");
    await iterator.return(undefined);
    await revokeSession("while-away");
    const resumed = await take(stream.watch(heartbeat.cursor, abort.signal), 2);
    expect(resumed.map((item) => item.type)).toEqual(["change", "heartbeat"]);
    expect(resumed[0]).toMatchObject({ change: { key: "while-away" }, cursor: heartbeat.cursor });
    expect(POLL_OVERLAP_MS).toBeGreaterThan(0);
  });

  it("answers RESET to a cursor older than the maximum age or ahead of the database clock", async () => {
    for (const [cursor, reason] of [
      [`c1.${Date.now() - 2 * HOUR}`, "cursor_too_old"],
      [`c1.${Date.now() + 2 * HOUR}`, "cursor_unknown"],
    ] as const) {
      const [first] = await take(stream.watch(cursor, abort.signal), 1);
      expect(first).toMatchObject({ type: "reset", reason });
    }
  });

  it("refuses a cursor that is not one", async () => {
    const failure = await stream
      .watch("garbage", abort.signal)
      .next()
      .catch((error: unknown) => error);
    expect(isDomainError(failure) && failure.reason).toBe("invalid_cursor");
  });

  it("cuts off a watcher that falls more than bufferSize behind, and stops listening to the feed", async () => {
    const iterator = stream.watch("", abort.signal);
    const start = await take(iterator, 2);
    // The consumer reads nothing while four changes arrive (buffer: 3).
    for (const key of ["a", "b", "c", "d"]) await revokeSession(key);
    const failure = await iterator.next().catch((error: unknown) => error);
    expect(isDomainError(failure) && failure.kind).toBe("resource_exhausted");
    expect(isDomainError(failure) && failure.reason).toBe("slow_consumer");
    // Resuming from the last cursor received gets every change it missed.
    const resumed = await take(stream.watch(start[1]!.cursor, abort.signal), 5);
    expect(resumed.flatMap((item) => (item.type === "change" ? [item.change.key] : []))).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("keeps a watcher that reads as fast as changes come, however many", async () => {
    const iterator = stream.watch("", abort.signal);
    await take(iterator, 2);
    for (let i = 0; i < 20; i++) {
      await revokeSession(`s${i}`);
      expect((await take(iterator, 1))[0]).toMatchObject({ change: { key: `s${i}` } });
    }
  });

  it("ends open streams with unavailable shutting_down when the replica shuts down", async () => {
    const iterator = stream.watch("", abort.signal);
    await take(iterator, 2);
    const pending = iterator.next().catch((error: unknown) => error);
    stream.close();
    const failure = await pending;
    expect(isDomainError(failure) && failure.kind).toBe("unavailable");
    expect(isDomainError(failure) && failure.reason).toBe("shutting_down");
  });
});
