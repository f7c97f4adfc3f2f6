import { describe, expect, it } from "vitest";
import { KeycloakEventSource } from "./keycloak-event-source.ts";

const OWN = "service-account-id";

/** The admin API's event endpoints over two in-memory lists, honouring dateFrom, direction=asc, first and max. */
function fakeAdmin(admin: Array<Record<string, unknown>>, user: Array<Record<string, unknown>>) {
  return {
    async serviceAccountUserId() {
      return OWN;
    },
    async getJson<T>(path: string, query: URLSearchParams): Promise<T> {
      const from = Number(query.get("dateFrom"));
      const types = query.getAll("type");
      const first = Number(query.get("first"));
      const max = Number(query.get("max"));
      const list = (path === "admin-events" ? admin : user)
        .filter((event) => Number(event.time) >= from)
        .filter((event) => types.length === 0 || types.includes(String(event.type)))
        .sort((a, b) => Number(a.time) - Number(b.time));
      return list.slice(first, first + max) as T;
    },
  };
}

describe("KeycloakEventSource", () => {
  it("reads both streams in time order, as Gatehouse's events, and skips its own admin events", async () => {
    const admin = [
      { id: "a1", time: 10, operationType: "UPDATE", resourceType: "USER", resourcePath: "users/u1" },
      {
        id: "a2",
        time: 11,
        operationType: "DELETE",
        resourceType: "USER_SESSION",
        resourcePath: "sessions/s1",
      },
      { id: "a3", time: 12, operationType: "ACTION", resourceType: "USER", resourcePath: "users/u1/logout" },
      {
        id: "a4",
        time: 13,
        operationType: "ACTION",
        resourceType: "USER",
        resourcePath: "users/u1/reset-password",
      },
      { id: "a5", time: 14, operationType: "DELETE", resourceType: "USER", resourcePath: "users/u2" },
      {
        id: "a6",
        time: 15,
        operationType: "UPDATE",
        resourceType: "USER",
        resourcePath: "users/u3",
        authDetails: { userId: OWN },
      },
      { id: "a7", time: 16, operationType: "CREATE", resourceType: "USER", resourcePath: "users/u4" },
    ];
    const user = [
      { id: "e1", time: 10, type: "LOGOUT", userId: "u1", sessionId: "s2" },
      {
        id: "e2",
        time: 20,
        type: "UPDATE_CREDENTIAL",
        userId: "u1",
        sessionId: "s3",
        details: { credential_type: "password" },
      },
      { id: "e3", time: 21, type: "UPDATE_PROFILE", userId: "u5" },
      { id: "e4", time: 22, type: "LOGIN", userId: "u5" },
    ];
    const source = new KeycloakEventSource(fakeAdmin(admin, user));
    const batch = await source.readSince(source.startPosition(new Date(0)));
    expect(batch.events.map(({ at: _at, position: _position, ...event }) => event)).toEqual([
      { kind: "user_changed", externalId: "u1" },
      { kind: "session_ended", sessionId: "s2" },
      { kind: "session_ended", sessionId: "s1" },
      { kind: "user_sessions_ended", externalId: "u1" },
      { kind: "credentials_reset", externalId: "u1" },
      { kind: "user_deleted", externalId: "u2" },
      { kind: "credentials_reset", externalId: "u1", bySessionId: "s3" },
      { kind: "user_changed", externalId: "u5" },
    ]);

    // From the cursor: nothing twice, also at the same millisecond; a new event at that millisecond is read.
    expect((await source.readSince(batch.position)).events).toEqual([]);
    user.push({ id: "e5", time: 21, type: "LOGOUT", userId: "u5", sessionId: "s9" });
    const next = await source.readSince(batch.position);
    expect(next.events.map((event) => event.kind)).toEqual(["session_ended"]);
    // Each event's own position resumes right after it.
    const middle = batch.events[3]!.position;
    expect((await source.readSince(middle)).events.map((event) => event.kind)).toEqual([
      "credentials_reset",
      "user_deleted",
      "credentials_reset",
      "user_changed",
      "session_ended",
    ]);
  });

  it("reads group memberships and role mappings as user changes, and group or role definitions as directory changes when asked", async () => {
    const admin = [
      {
        id: "g1",
        time: 10,
        operationType: "CREATE",
        resourceType: "GROUP_MEMBERSHIP",
        resourcePath: "users/u1/groups/g",
      },
      {
        id: "g2",
        time: 11,
        operationType: "DELETE",
        resourceType: "GROUP_MEMBERSHIP",
        resourcePath: "users/u1/groups/g",
      },
      {
        id: "r1",
        time: 12,
        operationType: "CREATE",
        resourceType: "REALM_ROLE_MAPPING",
        resourcePath: "users/u2/role-mappings/realm",
      },
      { id: "d1", time: 13, operationType: "UPDATE", resourceType: "GROUP", resourcePath: "groups/g" },
      {
        id: "d2",
        time: 14,
        operationType: "CREATE",
        resourceType: "REALM_ROLE_MAPPING",
        resourcePath: "groups/g/role-mappings/realm",
      },
      { id: "d3", time: 15, operationType: "UPDATE", resourceType: "REALM_ROLE", resourcePath: "roles/ops" },
    ];
    const kinds = async (watchDirectory: boolean) => {
      const source = new KeycloakEventSource(fakeAdmin(admin, []), { watchDirectory });
      const batch = await source.readSince(source.startPosition(new Date(0)));
      return batch.events.map(({ at: _at, position: _position, ...event }) => event);
    };
    const memberships = [
      { kind: "user_changed", externalId: "u1" },
      { kind: "user_changed", externalId: "u1" },
      { kind: "user_changed", externalId: "u2" },
    ];
    expect(await kinds(false)).toEqual(memberships);
    expect(await kinds(true)).toEqual([
      ...memberships,
      { kind: "directory_changed" },
      { kind: "directory_changed" },
      { kind: "directory_changed" },
    ]);
  });
});
