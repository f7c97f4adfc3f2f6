import type { Logger } from "../../observability/logger.ts";
import type { Requester } from "../actor.ts";
import { isDomainError } from "../errors.ts";
import type { Page } from "../pagination.ts";

export interface AuditEntry {
  /** E.g. "auth.login", "users.update". */
  readonly action: string;
  readonly result: "success" | "failure";
  readonly actor: Requester;
  /** Who acted when there is no principal yet (e.g. the account a sign-in was for). */
  readonly actorId?: string;
  /** With actorId: "user" (the default) or "service_account". */
  readonly actorKind?: string;
  readonly targetKind?: string;
  readonly targetId?: string;
  /** The DomainError reason on failure, e.g. "invalid_credentials". */
  readonly reason?: string;
  /** Small, non-secret facts (never passwords, tokens or codes). */
  readonly details?: Readonly<Record<string, string>>;
}

export interface AuditEvent {
  readonly id: string;
  readonly time: Date;
  readonly action: string;
  readonly result: "success" | "failure";
  readonly actorId: string;
  readonly actorKind: string;
  readonly targetId: string;
  readonly targetKind: string;
  readonly ipAddress: string;
  readonly requestId: string;
  readonly reason: string;
  readonly details: Readonly<Record<string, string>>;
}

export type NewAuditEvent = Omit<AuditEvent, "id" | "time">;

export interface AuditQuery {
  readonly pageSize: number;
  readonly pageToken: string;
  /** Exact action, or a prefix ending in "." (e.g. "auth."). */
  readonly action: string;
  readonly actorId: string;
  readonly targetId: string;
  readonly result: "" | "success" | "failure";
  readonly since: Date | undefined;
  readonly until: Date | undefined;
}

/** The audit_events table. */
export interface AuditRepository {
  append(event: NewAuditEvent): Promise<void>;
  /** Newest first. */
  list(query: AuditQuery): Promise<Page<AuditEvent>>;
}

/** Collects the outcome of an audited operation: its target and details, known as it runs. */
export interface AuditNote {
  target(kind: string, id: string): void;
  detail(key: string, value: string): void;
  /** Who acted, when only the operation finds out (e.g. the user a refresh token belongs to). */
  actor(id: string, kind?: string): void;
}

/**
 * Every authentication and administration event, persisted. Recording never
 * fails the operation it describes: a write that fails is logged (without
 * secrets) and the call goes on.
 */
export class AuditLog {
  private readonly repository: AuditRepository;
  private readonly logger: Logger;

  constructor(repository: AuditRepository, logger: Logger) {
    this.repository = repository;
    this.logger = logger;
  }

  async record(entry: AuditEntry): Promise<void> {
    const principal = entry.actor.principal;
    const actorId = entry.actorId ?? principal?.subjectId ?? "";
    const event: NewAuditEvent = {
      action: entry.action,
      result: entry.result,
      actorId,
      actorKind: principal?.kind ?? entry.actorKind ?? (actorId === "" ? "anonymous" : "user"),
      targetId: entry.targetId ?? "",
      targetKind: entry.targetKind ?? "",
      ipAddress: entry.actor.ip,
      requestId: entry.actor.requestId,
      reason: entry.reason ?? "",
      details: entry.details ?? {},
    };
    try {
      await this.repository.append(event);
    } catch (error) {
      this.logger.error(
        { err: error, action: event.action, result: event.result },
        "audit event not recorded",
      );
    }
  }

  /**
   * Runs `work` and records its outcome: success, or failure with the
   * DomainError's reason ("internal" for anything else), then returns or
   * rethrows. `work` names the target and details through the note.
   */
  async track<T>(
    entry: Omit<AuditEntry, "result" | "reason">,
    work: (note: AuditNote) => Promise<T>,
  ): Promise<T> {
    let targetKind = entry.targetKind;
    let targetId = entry.targetId;
    let actorId = entry.actorId;
    let actorKind = entry.actorKind;
    const details: Record<string, string> = { ...entry.details };
    const note: AuditNote = {
      target(kind, id) {
        targetKind = kind;
        targetId = id;
      },
      detail(key, value) {
        details[key] = value;
      },
      actor(id, kind) {
        actorId = id;
        actorKind = kind ?? actorKind;
      },
    };
    try {
      const result = await work(note);
      await this.record({ ...entry, actorId, actorKind, targetKind, targetId, details, result: "success" });
      return result;
    } catch (error) {
      const reason = isDomainError(error) ? error.reason : "internal";
      await this.record({
        ...entry,
        actorId,
        actorKind,
        targetKind,
        targetId,
        details,
        result: "failure",
        reason,
      });
      throw error;
    }
  }

  list(query: AuditQuery): Promise<Page<AuditEvent>> {
    return this.repository.list(query);
  }
}
