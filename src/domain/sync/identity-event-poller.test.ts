import { afterEach, describe, expect, it } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { DomainError } from "../errors.ts";
import { IdentityEventPoller } from "./identity-event-poller.ts";
import type { EventCursorRepository, IdentityEvent, IdentityEventFact } from "./identity-events.ts";

const DAY_MS = 86_400_000;

/** Events kept in memory; the cursor is the index of the next event. */
class FakeSource {
  events: Array<IdentityEventFact & { at: Date }> = [];
  down = false;
  startPosition(): string {
    return String(this.events.length);
  }
  async readSince(position: string) {
    if (this.down) throw new DomainError("unavailable", "identity_provider_unavailable", "down");
    const from = Number(position);
    const events: IdentityEvent[] = this.events
      .slice(from)
      .map((event, i) => ({ ...event, position: String(from + i + 1) }));
    return { events, position: String(this.events.length) };
  }
}

class FakeCursor implements EventCursorRepository {
  saved: { position: string; polledAt: Date } | undefined;
  async load() {
    return this.saved;
  }
  async save(position: string, polledAt: Date) {
    this.saved = { position, polledAt };
  }
}

function setup(now = () => 1_000_000_000_000) {
  const store = new MemoryCoordinationStore(now);
  const source = new FakeSource();
  const cursor = new FakeCursor();
  const calls: string[] = [];
  const linked = new Map([["kc-1", "user-1"]]);
  let failChange: Error | undefined;
  const gaps: number[] = [];
  const make = () =>
    new IdentityEventPoller({
      source,
      cursor,
      store,
      sync: {
        async applyRemoteChange(externalId) {
          if (failChange !== undefined) throw failChange;
          calls.push(`changed:${externalId}`);
          return true;
        },
        async applyRemoteDeletion(externalId) {
          calls.push(`deleted:${externalId}`);
          return true;
        },
        async reconcile() {
          calls.push("reconcile");
          return undefined;
        },
        async linkedUserIdFor(externalId) {
          return linked.get(externalId);
        },
      },
      sessions: {
        async endUserSessions(userId, _reason, options) {
          calls.push(`end-sessions:${userId}:${options?.exceptSessionId ?? "all"}`);
          return 1;
        },
      },
      revocations: {
        async revokeSession(sessionId) {
          calls.push(`revoke-session:${sessionId}`);
        },
        async revokeToken() {},
        async revokeSubjectTokensIssuedBefore(subjectId, cutoff) {
          calls.push(`cutoff:${subjectId}:${cutoff.getTime()}`);
        },
        async revocationReason() {
          return undefined;
        },
      },
      logger: createLogger("silent"),
      settings: { pollMs: 1000, retentionMs: 7 * DAY_MS, sessionRevocationMs: 60_000 },
      onGap: () => gaps.push(1),
      now,
    });
  return {
    store,
    source,
    cursor,
    calls,
    gaps,
    make,
    failChanges: (error: Error | undefined) => {
      failChange = error;
    },
  };
}

describe("IdentityEventPoller", () => {
  const stores: MemoryCoordinationStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it("starts at now on a fresh installation, then applies each kind of event once, in order", async () => {
    const t = setup();
    stores.push(t.store);
    const poller = t.make();
    t.source.events.push({ kind: "user_changed", externalId: "kc-old", at: new Date(1) });
    await poller.pollOnce();
    expect(t.calls).toEqual([]);

    const at = new Date(999_999_999_000);
    t.source.events.push(
      { kind: "session_ended", sessionId: "sid-1", at },
      { kind: "user_changed", externalId: "kc-1", at },
      { kind: "user_deleted", externalId: "kc-1", at },
      { kind: "user_sessions_ended", externalId: "kc-1", at },
      { kind: "user_sessions_ended", externalId: "kc-unknown", at },
      { kind: "credentials_reset", externalId: "kc-1", at },
      { kind: "credentials_reset", externalId: "kc-1", bySessionId: "sid-2", at },
    );
    await poller.pollOnce();
    await poller.pollOnce();
    expect(t.calls).toEqual([
      "revoke-session:sid-1",
      "changed:kc-1",
      "deleted:kc-1",
      `cutoff:user-1:${at.getTime()}`,
      "end-sessions:user-1:all",
      "end-sessions:user-1:sid-2",
    ]);
    await poller.close();
  });

  it("reconciles once per round however many directory changes it reads", async () => {
    const t = setup();
    stores.push(t.store);
    const poller = t.make();
    await poller.pollOnce();
    const at = new Date(999_999_999_000);
    t.source.events.push(
      { kind: "directory_changed", at },
      { kind: "user_changed", externalId: "kc-1", at },
      { kind: "directory_changed", at },
    );
    await poller.pollOnce();
    t.source.events.push({ kind: "directory_changed", at });
    await poller.pollOnce();
    expect(t.calls).toEqual(["reconcile", "changed:kc-1", "reconcile"]);
    await poller.close();
  });

  it("polls on one replica at a time; another takes over when the holder closes", async () => {
    const t = setup();
    stores.push(t.store);
    const first = t.make();
    const second = t.make();
    await first.pollOnce();
    t.source.events.push({ kind: "session_ended", sessionId: "sid-1", at: new Date() });
    await second.pollOnce();
    expect(t.calls).toEqual([]);
    await first.pollOnce();
    expect(t.calls).toEqual(["revoke-session:sid-1"]);
    await first.close();
    t.source.events.push({ kind: "session_ended", sessionId: "sid-2", at: new Date() });
    await second.pollOnce();
    expect(t.calls).toEqual(["revoke-session:sid-1", "revoke-session:sid-2"]);
  });

  it("keeps an event that failed for want of the provider for the next round, and skips one that cannot be applied", async () => {
    const t = setup();
    stores.push(t.store);
    const poller = t.make();
    await poller.pollOnce();
    t.source.events.push(
      { kind: "user_changed", externalId: "kc-1", at: new Date() },
      { kind: "session_ended", sessionId: "sid-1", at: new Date() },
    );
    t.failChanges(new DomainError("unavailable", "identity_provider_unavailable", "down"));
    await expect(poller.pollOnce()).rejects.toMatchObject({ kind: "unavailable" });
    expect(t.calls).toEqual([]);
    t.failChanges(new Error("broken"));
    await poller.pollOnce();
    expect(t.calls).toEqual(["revoke-session:sid-1"]);
    t.failChanges(undefined);
    await poller.pollOnce();
    expect(t.calls).toEqual(["revoke-session:sid-1"]);
  });

  it("runs a full reconcile when the cursor was not polled for longer than the retention, and goes on from now", async () => {
    let now = 1_000_000_000_000;
    const t = setup(() => now);
    stores.push(t.store);
    const poller = t.make();
    await poller.pollOnce();
    t.source.events.push({ kind: "session_ended", sessionId: "lost", at: new Date(now) });
    now += 8 * DAY_MS;
    await poller.pollOnce();
    expect(t.calls).toEqual(["reconcile"]);
    expect(t.gaps).toEqual([1]);
    t.source.events.push({ kind: "session_ended", sessionId: "after", at: new Date(now) });
    await poller.pollOnce();
    expect(t.calls).toEqual(["reconcile", "revoke-session:after"]);
    await poller.close();
  });
});
