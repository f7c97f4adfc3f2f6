import type {
  IdentityEvent,
  IdentityEventBatch,
  IdentityEventFact,
  IdentityEventSource,
} from "../../domain/sync/identity-events.ts";
import type { KeycloakAdmin } from "./keycloak-admin.ts";

/** Keycloak's AdminEventRepresentation, the part read here. */
interface AdminEvent {
  readonly id?: string;
  readonly time?: number;
  readonly operationType?: string;
  readonly resourceType?: string;
  readonly resourcePath?: string;
  readonly authDetails?: { readonly userId?: string };
}

/** Keycloak's EventRepresentation (user events), the part read here. */
interface UserEvent {
  readonly id?: string;
  readonly time?: number;
  readonly type?: string;
  readonly userId?: string;
  readonly sessionId?: string;
  readonly details?: Record<string, string>;
}

/** Per stream: the time of the last event read and the ids read at that very millisecond. */
interface StreamCursor {
  readonly t: number;
  readonly ids: readonly string[];
}

interface Cursor {
  readonly admin: StreamCursor;
  readonly user: StreamCursor;
}

const PAGE_SIZE = 100;
/** Pages per stream and call: a backlog is worked off over several rounds. */
const MAX_PAGES = 10;

/** The user events Gatehouse acts on (the others, logins and refreshes, are not fetched). */
const USER_EVENT_TYPES = [
  "LOGOUT",
  "UPDATE_PASSWORD",
  "RESET_PASSWORD",
  "UPDATE_CREDENTIAL",
  "REMOVE_CREDENTIAL",
  "UPDATE_PROFILE",
  "UPDATE_EMAIL",
  "UPDATE_TOTP",
  "REMOVE_TOTP",
  "DELETE_ACCOUNT",
] as const;

type Timed<T> = {
  readonly stream: "admin" | "user";
  readonly id: string;
  readonly time: number;
  readonly raw: T;
};

/**
 * Keycloak's events through the admin REST API (`GET admin-events` and
 * `GET events`, `dateFrom` in epoch ms, ascending, paged with first/max);
 * the service account needs realm-management `view-events`, and the realm
 * must store admin events (with representation) and user events (the realm
 * import does). Admin events made by Gatehouse's own service account are
 * skipped: Gatehouse applied those writes when it made them.
 */
export class KeycloakEventSource implements IdentityEventSource {
  private readonly admin: Pick<KeycloakAdmin, "getJson" | "serviceAccountUserId">;
  /** Report changes to groups and realm roles themselves (a role mapping is configured). */
  private readonly watchDirectory: boolean;
  private ownUserId: string | undefined;

  constructor(
    admin: Pick<KeycloakAdmin, "getJson" | "serviceAccountUserId">,
    options: { watchDirectory?: boolean } = {},
  ) {
    this.admin = admin;
    this.watchDirectory = options.watchDirectory ?? false;
  }

  startPosition(now: Date): string {
    const start: StreamCursor = { t: now.getTime(), ids: [] };
    return JSON.stringify({ admin: start, user: start } satisfies Cursor);
  }

  async readSince(position: string): Promise<IdentityEventBatch> {
    const cursor = parseCursor(position);
    this.ownUserId ??= await this.admin.serviceAccountUserId();
    const [adminEvents, userEvents] = await Promise.all([
      this.read<AdminEvent>("admin-events", cursor.admin, "admin", new URLSearchParams()),
      this.read<UserEvent>(
        "events",
        cursor.user,
        "user",
        new URLSearchParams(USER_EVENT_TYPES.map((type): [string, string] => ["type", type])),
      ),
    ]);
    const merged = [...adminEvents, ...userEvents].sort((a, b) => a.time - b.time);
    let admin = cursor.admin;
    let user = cursor.user;
    const events: IdentityEvent[] = [];
    for (const entry of merged) {
      if (entry.stream === "admin") admin = advance(admin, entry);
      else user = advance(user, entry);
      const at = new Date(entry.time);
      const position = JSON.stringify({ admin, user } satisfies Cursor);
      const event =
        entry.stream === "admin"
          ? this.fromAdminEvent(entry.raw as AdminEvent)
          : fromUserEvent(entry.raw as UserEvent);
      if (event !== undefined) events.push({ ...event, at, position });
    }
    return { events, position: JSON.stringify({ admin, user } satisfies Cursor) };
  }

  private async read<T extends { id?: string; time?: number }>(
    path: string,
    from: StreamCursor,
    stream: "admin" | "user",
    extra: URLSearchParams,
  ): Promise<Array<Timed<T>>> {
    const found: Array<Timed<T>> = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams(extra);
      query.set("dateFrom", String(from.t));
      query.set("direction", "asc");
      query.set("first", String(page * PAGE_SIZE));
      query.set("max", String(PAGE_SIZE));
      const items = await this.admin.getJson<T[]>(path, query, "read the realm's events");
      for (const raw of items) {
        const time = raw.time ?? 0;
        const id = raw.id ?? `${time}`;
        if (time < from.t || (time === from.t && from.ids.includes(id))) continue;
        found.push({ stream, id, time, raw });
      }
      if (items.length < PAGE_SIZE) break;
    }
    return found;
  }

  private fromAdminEvent(event: AdminEvent): IdentityEventFact | undefined {
    if (event.authDetails?.userId !== undefined && event.authDetails.userId === this.ownUserId)
      return undefined;
    const path = (event.resourcePath ?? "").split("/");
    const operation = event.operationType ?? "";
    if (event.resourceType === "USER_SESSION" && path[0] === "sessions" && path[1] !== undefined) {
      return operation === "DELETE" ? { kind: "session_ended", sessionId: path[1] } : undefined;
    }
    if (path[0] === "groups" || path[0] === "roles" || path[0] === "roles-by-id") {
      // A group moved, renamed or deleted, or the roles of a group or composite role changed.
      return this.watchDirectory && operation !== "ACTION" ? { kind: "directory_changed" } : undefined;
    }
    if (path[0] !== "users" || path[1] === undefined || path[1] === "") return undefined;
    const externalId = path[1];
    if (path.length === 2) {
      if (operation === "UPDATE") return { kind: "user_changed", externalId };
      if (operation === "DELETE") return { kind: "user_deleted", externalId };
      return undefined;
    }
    if (path[2] === "logout") return { kind: "user_sessions_ended", externalId };
    if (path[2] === "reset-password") return { kind: "credentials_reset", externalId };
    if (path[2] === "sessions" && operation === "DELETE" && path[3] !== undefined)
      return { kind: "session_ended", sessionId: path[3] };
    // Group membership (users/{id}/groups/{group}) and role mappings (users/{id}/role-mappings/…)
    // are CREATE when added, DELETE when removed: the user's mapped roles are read again.
    if (path[2] === "groups" || path[2] === "role-mappings") return { kind: "user_changed", externalId };
    // Credentials, required actions, attributes: whatever changed, the record is read again.
    return operation === "CREATE" && path[2] !== "credentials"
      ? undefined
      : { kind: "user_changed", externalId };
  }
}

function fromUserEvent(event: UserEvent): IdentityEventFact | undefined {
  const externalId = event.userId ?? "";
  switch (event.type) {
    case "LOGOUT":
      return event.sessionId === undefined || event.sessionId === ""
        ? undefined
        : { kind: "session_ended", sessionId: event.sessionId };
    case "UPDATE_PASSWORD":
    case "RESET_PASSWORD":
      return externalId === "" ? undefined : passwordChanged(externalId, event.sessionId);
    case "UPDATE_CREDENTIAL":
      if (externalId === "") return undefined;
      return event.details?.credential_type === "password"
        ? passwordChanged(externalId, event.sessionId)
        : { kind: "user_changed", externalId };
    case "DELETE_ACCOUNT":
      return externalId === "" ? undefined : { kind: "user_deleted", externalId };
    default:
      return externalId === "" ? undefined : { kind: "user_changed", externalId };
  }
}

function passwordChanged(externalId: string, sessionId: string | undefined): IdentityEventFact {
  return {
    kind: "credentials_reset" as const,
    externalId,
    ...(sessionId === undefined || sessionId === "" ? {} : { bySessionId: sessionId }),
  };
}

function advance(cursor: StreamCursor, entry: { id: string; time: number }): StreamCursor {
  return entry.time > cursor.t
    ? { t: entry.time, ids: [entry.id] }
    : { t: cursor.t, ids: [...cursor.ids, entry.id] };
}

function parseCursor(position: string): Cursor {
  const parsed = JSON.parse(position) as Partial<Cursor>;
  const stream = (value: Partial<StreamCursor> | undefined): StreamCursor => ({
    t: typeof value?.t === "number" ? value.t : Date.now(),
    ids: Array.isArray(value?.ids) ? value.ids.filter((id): id is string => typeof id === "string") : [],
  });
  return { admin: stream(parsed.admin), user: stream(parsed.user) };
}
