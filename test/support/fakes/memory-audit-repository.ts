import { randomUUID } from "node:crypto";
import type {
  AuditEvent,
  AuditQuery,
  AuditRepository,
  NewAuditEvent,
} from "../../../src/domain/audit/audit-log.ts";
import type { Page } from "../../../src/domain/pagination.ts";

/** The audit_events table in memory; `events` in the order they were appended. */
export class MemoryAuditRepository implements AuditRepository {
  readonly events: AuditEvent[] = [];

  async append(event: NewAuditEvent): Promise<void> {
    this.events.push({ ...event, id: randomUUID(), time: new Date() });
  }

  async list(query: AuditQuery): Promise<Page<AuditEvent>> {
    const matches = this.events
      .filter(
        (event) =>
          (query.action === "" ||
            (query.action.endsWith(".")
              ? event.action.startsWith(query.action)
              : event.action === query.action)) &&
          (query.actorId === "" || event.actorId === query.actorId) &&
          (query.targetId === "" || event.targetId === query.targetId) &&
          (query.result === "" || event.result === query.result),
      )
      .reverse();
    return { items: matches.slice(0, query.pageSize), nextPageToken: "" };
  }

  /** The events of one action, oldest first. */
  of(action: string): AuditEvent[] {
    return this.events.filter((event) => event.action === action);
  }
}
