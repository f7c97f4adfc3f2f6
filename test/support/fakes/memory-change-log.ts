import type { ChangeEvent, ChangeLog, NewChange } from "../../../src/domain/change-feed/change-feed.ts";

/** An in-memory ChangeLog for unit tests (the real one is the change_events table). */
export class MemoryChangeLog implements ChangeLog {
  readonly events: Array<ChangeEvent & { createdAt: Date }> = [];
  private nextId = 1;
  now: () => number = Date.now;

  async append(change: NewChange): Promise<ChangeEvent> {
    const event = { ...change, id: String(this.nextId++), createdAt: new Date(this.now()) };
    this.events.push(event);
    return event;
  }

  async since(time: Date): Promise<Array<ChangeEvent & { createdAt: Date }>> {
    return this.events.filter((event) => event.createdAt >= time);
  }

  async activeRevocations(): Promise<ChangeEvent[]> {
    return this.events.filter(
      (event) => event.kind !== "access_changed" && event.kind !== "services_changed",
    );
  }

  async databaseNow(): Promise<Date> {
    return new Date(this.now());
  }

  async pruneExpired(): Promise<number> {
    return 0;
  }
}
