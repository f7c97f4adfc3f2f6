/**
 * What happened at the identity provider (Keycloak's admin and user events),
 * reduced to what Gatehouse acts on. `externalId` is the provider's user id.
 */
export type IdentityEventKind =
  | "user_changed"
  | "user_deleted"
  | "session_ended"
  | "user_sessions_ended"
  | "credentials_reset"
  | "directory_changed";

/** What happened, without when and where in the stream. */
export type IdentityEventFact =
  | { readonly kind: "user_changed"; readonly externalId: string }
  | { readonly kind: "user_deleted"; readonly externalId: string }
  | { readonly kind: "session_ended"; readonly sessionId: string }
  /** Every session of the user ended at the provider (an admin's "sign out"). */
  | { readonly kind: "user_sessions_ended"; readonly externalId: string }
  /**
   * The password was set or reset; `bySessionId` is the session that did it
   * (the user's own change), undefined for an administrator's reset.
   */
  | { readonly kind: "credentials_reset"; readonly externalId: string; readonly bySessionId?: string }
  /**
   * Something many users may hold changed (a group moved, renamed or deleted;
   * a group's or a composite role's roles): their mapped roles are reconciled.
   */
  | { readonly kind: "directory_changed" };

export type IdentityEvent = IdentityEventFact & {
  /** When it happened at the provider. */
  readonly at: Date;
  /** The source's cursor just after this event (opaque to the domain). */
  readonly position: string;
};

export interface IdentityEventBatch {
  /** In the order they happened. */
  readonly events: readonly IdentityEvent[];
  /** The cursor after everything read, including events Gatehouse does not act on. */
  readonly position: string;
}

/**
 * The provider's event stream (Keycloak: the admin REST API's admin-events
 * and events, polled). Failures are DomainErrors (unavailable while the
 * provider cannot be reached).
 */
export interface IdentityEventSource {
  /** A cursor at "now": what a new poller starts from. */
  startPosition(now: Date): string;
  /** Events after the cursor, at most a bounded number per call. */
  readSince(position: string): Promise<IdentityEventBatch>;
}

/** The persisted cursor, shared by every replica (the keycloak_event_cursor table). */
export interface EventCursorRepository {
  load(): Promise<{ readonly position: string; readonly polledAt: Date } | undefined>;
  save(position: string, polledAt: Date): Promise<void>;
}
