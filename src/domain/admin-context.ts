import type { Principal } from "./principal.ts";

/** Who performs an administrative action, and from where: for permission checks and the audit log. */
export interface Actor {
  readonly principal: Principal;
  readonly ip: string;
  readonly requestId: string;
}

/** Throws DomainError("permission_denied") unless the principal holds the permission. */
export type PermissionCheck = (principal: Principal, permission: string) => Promise<void>;

export interface AuditRecord {
  readonly action: string;
  readonly result: "success" | "failure";
  readonly actor: Actor;
  readonly targetKind: string;
  readonly targetId: string;
  readonly reason?: string;
  readonly details?: Record<string, string>;
}

/** Where administrative events go (the audit_events table). */
export type AuditSink = (record: AuditRecord) => Promise<void>;
