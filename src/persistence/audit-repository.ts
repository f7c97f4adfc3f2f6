import type { AuditEvent, AuditQuery, AuditRepository, NewAuditEvent } from "../domain/audit/audit-log.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import { decodeTimeIdCursor } from "./keyset.ts";
import type { Sql } from "./sql.ts";

interface Row {
  id: string;
  occurred_at: Date;
  occurred_key: string;
  action: string;
  result: "success" | "failure";
  actor_id: string;
  actor_kind: string;
  target_id: string;
  target_kind: string;
  ip_address: string;
  request_id: string;
  reason: string;
  details: Record<string, string>;
}

const clip = (value: string, length: number) => value.slice(0, length);

export class SqlAuditRepository implements AuditRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async append(event: NewAuditEvent): Promise<void> {
    await this.sql.query(
      `INSERT INTO audit_events
         (action, result, actor_id, actor_kind, target_id, target_kind, ip_address, request_id, reason, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)`,
      [
        clip(event.action, 64),
        event.result,
        clip(event.actorId, 64),
        clip(event.actorKind, 32),
        clip(event.targetId, 64),
        clip(event.targetKind, 32),
        clip(event.ipAddress, 64),
        clip(event.requestId, 128),
        clip(event.reason, 64),
        JSON.stringify(event.details),
      ],
    );
  }

  async list(query: AuditQuery): Promise<Page<AuditEvent>> {
    const before = decodeTimeIdCursor(query.pageToken);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (before !== undefined) {
      where.push(`(occurred_at, id) < (${param(before.time)}::timestamptz, ${param(before.id)}::uuid)`);
    }
    if (query.action.endsWith(".")) {
      where.push(`action LIKE ${param(`${query.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`);
    } else if (query.action !== "") {
      where.push(`action = ${param(query.action)}`);
    }
    if (query.actorId !== "") where.push(`actor_id = ${param(query.actorId)}`);
    if (query.targetId !== "") where.push(`target_id = ${param(query.targetId)}`);
    if (query.result !== "") where.push(`result = ${param(query.result)}`);
    if (query.since !== undefined) where.push(`occurred_at >= ${param(query.since)}`);
    if (query.until !== undefined) where.push(`occurred_at < ${param(query.until)}`);
    const rows = await this.sql.query<Row>(
      `SELECT id, occurred_at, occurred_at::text AS occurred_key, action, result, actor_id, actor_kind,
         target_id, target_kind, ip_address, request_id, reason, details
       FROM audit_events ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY occurred_at DESC, id DESC LIMIT ${param(query.pageSize + 1)}`,
      params,
    );
    const page = toPage(rows, query.pageSize, (row) => [row.occurred_key, row.id]);
    return {
      items: page.items.map((row) => ({
        id: row.id,
        time: new Date(row.occurred_at),
        action: row.action,
        result: row.result,
        actorId: row.actor_id,
        actorKind: row.actor_kind,
        targetId: row.target_id,
        targetKind: row.target_kind,
        ipAddress: row.ip_address,
        requestId: row.request_id,
        reason: row.reason,
        details: row.details,
      })),
      nextPageToken: page.nextPageToken,
    };
  }
}
