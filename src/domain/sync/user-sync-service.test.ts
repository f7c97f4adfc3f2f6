import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import type { Actor } from "../actor.ts";
import { DomainError } from "../errors.ts";
import type { Page } from "../pagination.ts";
import type { User } from "../users/user.ts";
import type { NewUser, UserChanges, UserRepository } from "../users/user-repository.ts";
import { RoleMapping } from "./role-mapping.ts";
import type {
  RemoteUser,
  RemoteUserDirectory,
  RemoteUserFields,
  SyncFailure,
  SyncRun,
  SyncStateRepository,
  UserLinkRepository,
} from "./sync-ports.ts";
import { type UserSyncDeps, UserSyncService } from "./user-sync-service.ts";

const NO_METADATA = {
  middleName: "",
  phone: "",
  telegram: "",
  organization: "",
  department: "",
  title: "",
  links: [],
};

const remoteUser = (overrides: Partial<RemoteUser> & { username: string }): RemoteUser => ({
  externalId: randomUUID(),
  email: `${overrides.username}@example.test`,
  emailVerified: false,
  firstName: "First",
  lastName: "Last",
  enabled: true,
  mfaEnabled: false,
  metadata: NO_METADATA,
  ...overrides,
});

/** Keycloak's users, in memory; `down` makes every call fail like an unreachable server. */
class FakeDirectory implements RemoteUserDirectory {
  users: RemoteUser[] = [];
  down = false;
  private check() {
    if (this.down) throw new DomainError("unavailable", "identity_provider_unavailable", "down");
  }
  async get(externalId: string) {
    this.check();
    return this.users.find((user) => user.externalId === externalId);
  }
  async findByUsername(username: string) {
    this.check();
    return this.users.find((user) => user.username === username.toLowerCase());
  }
  async findByEmail(email: string) {
    this.check();
    return this.users.find((user) => user.email === email.toLowerCase());
  }
  async page(first: number, max: number) {
    this.check();
    return this.users.slice(first, first + max);
  }
  async count() {
    this.check();
    return this.users.length;
  }
  async create(fields: RemoteUserFields) {
    this.check();
    const user = remoteUser({
      ...fields,
      username: fields.username.toLowerCase(),
      email: fields.email.toLowerCase(),
    });
    this.users.push(user);
    return user.externalId;
  }
  async update(externalId: string, fields: RemoteUserFields) {
    this.check();
    const index = this.users.findIndex((user) => user.externalId === externalId);
    if (index < 0) throw new DomainError("not_found", "keycloak_user_not_found", "gone");
    this.users[index] = { ...this.users[index]!, ...fields, username: this.users[index]!.username };
  }
}

/** The users table, in memory: the UserRepository methods the sync uses and the link columns. */
class FakeUsers
  implements
    Pick<
      UserRepository,
      | "getUser"
      | "findByLogin"
      | "findByEmail"
      | "create"
      | "update"
      | "list"
      | "setRoles"
      | "setBusinessRoles"
    >,
    UserLinkRepository
{
  rows = new Map<string, User>();

  add(overrides: Partial<User> & { username: string }): User {
    const user: User = {
      id: randomUUID(),
      email: `${overrides.username}@example.test`,
      emailVerified: false,
      firstName: "First",
      middleName: "",
      lastName: "Last",
      phone: "",
      telegram: "",
      organization: "",
      department: "",
      title: "",
      links: [],
      status: "active",
      mfaEnabled: false,
      totpEnabled: false,
      roles: ["user"],
      businessRoleIds: [],
      externalId: "",
      createdAt: new Date(),
      updatedAt: new Date(),
      lastLoginAt: undefined,
      lockedUntil: undefined,
      ...overrides,
    };
    this.rows.set(user.id, user);
    return user;
  }
  async getUser(id: string) {
    return this.rows.get(id);
  }
  async findByLogin(login: string) {
    return [...this.rows.values()].find(
      (user) =>
        user.username.toLowerCase() === login.toLowerCase() ||
        user.email.toLowerCase() === login.toLowerCase(),
    );
  }
  async findByEmail(email: string) {
    return [...this.rows.values()].find((user) => user.email.toLowerCase() === email.toLowerCase());
  }
  async create(user: NewUser) {
    if ([...this.rows.values()].some((row) => row.username.toLowerCase() === user.username.toLowerCase())) {
      throw new DomainError("already_exists", "username_taken", "taken");
    }
    const { profile, externalId, ...rest } = user;
    return this.add({ ...rest, ...profile, externalId: externalId ?? "", roles: [...user.roles] });
  }
  async update(id: string, changes: UserChanges) {
    const user = this.rows.get(id);
    if (user === undefined) return undefined;
    const updated = { ...user, ...changes } as User;
    this.rows.set(id, updated);
    return updated;
  }
  async list(query: { pageSize: number; pageToken: string }): Promise<Page<User>> {
    const all = [...this.rows.values()];
    const start = query.pageToken === "" ? 0 : Number(query.pageToken);
    const items = all.slice(start, start + query.pageSize);
    return {
      items,
      nextPageToken: start + query.pageSize < all.length ? String(start + query.pageSize) : "",
    };
  }
  async findUserIdByExternalId(externalId: string) {
    return [...this.rows.values()].find((user) => user.externalId === externalId)?.id;
  }
  async link(userId: string, externalId: string) {
    if ([...this.rows.values()].some((user) => user.externalId === externalId && user.id !== userId)) {
      throw new DomainError("already_exists", "sync_conflict", "linked");
    }
    await this.update(userId, {});
    this.rows.set(userId, { ...this.rows.get(userId)!, externalId });
  }
  async setMfaEnabled(userId: string, enabled: boolean) {
    this.rows.set(userId, { ...this.rows.get(userId)!, mfaEnabled: enabled, totpEnabled: enabled });
  }
  synced = new Map<string, Date>();
  async markSynced(userId: string) {
    this.synced.set(userId, new Date());
  }
  async setRoles(userId: string, roles: readonly string[]) {
    this.rows.set(userId, { ...this.rows.get(userId)!, roles: [...roles].sort() });
  }
  async setBusinessRoles(userId: string, businessRoleIds: readonly string[]) {
    this.rows.set(userId, { ...this.rows.get(userId)!, businessRoleIds: [...businessRoleIds] });
  }
}

class FakeState implements SyncStateRepository {
  private readonly users: FakeUsers;
  constructor(users: FakeUsers) {
    this.users = users;
  }
  runs: SyncRun[] = [];
  failures: Array<SyncFailure & { at: Date }> = [];
  async saveRun(run: SyncRun) {
    this.runs.push(run);
  }
  async lastRun() {
    return this.runs.at(-1);
  }
  async recordFailure(failure: SyncFailure) {
    this.failures.push({ ...failure, at: new Date() });
  }
  async failuresSince(time: Date) {
    return this.failures.filter((failure) => failure.at > time).length;
  }
  async activitySince(time: Date) {
    return {
      usersSynced: [...this.users.synced.values()].filter((at) => at >= time).length,
      failures: this.failures.filter((failure) => failure.at >= time).length,
    };
  }
  async prune() {}
}

const caller: Actor = {
  principal: { kind: "user", subjectId: "admin", sessionId: "s", tokenId: "t", expiresAt: 0, clientId: "c" },
  ip: "127.0.0.1",
  requestId: "r",
};

describe("UserSyncService", () => {
  let directory: FakeDirectory;
  let users: FakeUsers;
  let state: FakeState;
  let store: MemoryCoordinationStore;
  let revoked: string[];
  let changed: string[];
  let denied: boolean;
  let sync: UserSyncService;
  let deps: UserSyncDeps;

  beforeEach(() => {
    directory = new FakeDirectory();
    users = new FakeUsers();
    state = new FakeState(users);
    store = new MemoryCoordinationStore();
    revoked = [];
    changed = [];
    denied = false;
    deps = {
      users,
      links: users,
      remote: directory,
      state,
      store,
      access: {
        async requirePermission(_principal, permission) {
          if (denied) throw new DomainError("permission_denied", "missing_permission", permission);
        },
      },
      audit: { track: (_entry, work) => work({ target() {}, detail() {}, actor() {} }) },
      revocations: {
        async revokeSession() {},
        async revokeToken() {},
        async revokeSubjectTokensIssuedBefore(subjectId) {
          revoked.push(subjectId);
        },
        async revocationReason() {
          return undefined;
        },
      },
      changes: {
        async subjectChanged(subjectId) {
          changed.push(subjectId);
        },
        async everySubjectChanged() {},
      },
      logger: createLogger("silent"),
      pageSize: 2,
    };
    sync = new UserSyncService(deps);
  });

  it("imports, updates, keeps and disables in one paged run, and a second run changes nothing", async () => {
    const fresh = remoteUser({ username: "fresh", metadata: { ...NO_METADATA, phone: "+1 555 0100" } });
    const renamed = remoteUser({ username: "renamed", firstName: "New" });
    const same = remoteUser({ username: "same" });
    const off = remoteUser({ username: "off", enabled: false });
    const withOtp = remoteUser({ username: "withotp", mfaEnabled: true });
    directory.users = [fresh, renamed, same, off, withOtp];
    users.add({ username: "renamed", externalId: renamed.externalId, firstName: "Old" });
    users.add({ username: "same", externalId: same.externalId });
    const offLocal = users.add({ username: "off", externalId: off.externalId });
    users.add({ username: "withotp", externalId: withOtp.externalId });
    const gone = users.add({ username: "gone", externalId: randomUUID() });
    const unlinked = users.add({ username: "localonly" });

    const run = await sync.syncAll(caller);
    expect(run).toMatchObject({ created: 1, updated: 3, unchanged: 1, disabled: 1, failed: 0 });
    const imported = [...users.rows.values()].find((user) => user.username === "fresh")!;
    expect(imported).toMatchObject({ externalId: fresh.externalId, phone: "+1 555 0100", roles: ["user"] });
    expect(users.rows.get(offLocal.id)?.status).toBe("disabled");
    expect(users.rows.get(gone.id)?.status).toBe("disabled");
    expect(users.rows.get(unlinked.id)?.status).toBe("active");
    expect(revoked.sort()).toEqual([gone.id, offLocal.id].sort());
    expect(state.runs).toHaveLength(1);

    const again = await sync.syncAll(caller);
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 5, disabled: 0, failed: 0 });
  });

  it("links a local user made before Keycloak instead of duplicating it; case differences are no change", async () => {
    const local = users.add({ username: "Alice", email: "Alice@Example.test" });
    const remote = remoteUser({ username: "alice", email: "alice@example.test" });
    directory.users = [remote];
    expect(await sync.syncAll(caller)).toMatchObject({ created: 0, updated: 1 });
    expect(users.rows.get(local.id)).toMatchObject({ externalId: remote.externalId, username: "Alice" });
    expect(users.rows.size).toBe(1);
  });

  it("counts a user it cannot import as failed and goes on", async () => {
    const owner = remoteUser({ username: "owner" });
    // Same email as a local user linked to another, live Keycloak user: a conflict, not a silent relink.
    const clash = remoteUser({ username: "clash", email: owner.email });
    directory.users = [owner, clash, remoteUser({ username: "fine" })];
    users.add({ username: "owner", externalId: owner.externalId });
    const run = await sync.syncAll(caller);
    expect(run).toMatchObject({ created: 1, unchanged: 1, failed: 1 });
  });

  it("runs without a total when Keycloak's count fails, and logs why", async () => {
    directory.users = [remoteUser({ username: "one" }), remoteUser({ username: "two" })];
    directory.count = async () => {
      throw new DomainError("unavailable", "identity_provider_unavailable", "count timed out");
    };
    const warn = vi.spyOn(deps.logger, "warn");
    const run = await sync.syncAll(caller);
    expect(run).toMatchObject({ created: 2, failed: 0 });
    expect(warn).toHaveBeenCalledWith(expect.anything(), "counting the keycloak users failed");
  });

  it("runs once at a time: a second concurrent run is ABORTED, and the lock is released after", async () => {
    directory.users = [remoteUser({ username: "one" })];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const page = directory.page.bind(directory);
    directory.page = async (first, max) => {
      await gate;
      return page(first, max);
    };
    const first = sync.syncAll(caller);
    await expect(sync.syncAll(caller)).rejects.toMatchObject({ kind: "aborted", reason: "sync_in_progress" });
    release();
    await first;
    await expect(sync.syncAll(caller)).resolves.toMatchObject({ unchanged: 1 });
  });

  it("publishes a full run's progress for every replica's status while it runs, and clears it at the end", async () => {
    directory.users = ["p1", "p2", "p3"].map((username) => remoteUser({ username }));
    users.add({ username: "p1", externalId: directory.users[0]!.externalId });
    expect((await sync.status(caller, false)).currentRun).toBeUndefined();
    // Hold the run before its second page (pageSize 2): one page done.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedSecondPage!: () => void;
    const atSecondPage = new Promise<void>((resolve) => {
      reachedSecondPage = resolve;
    });
    const page = directory.page.bind(directory);
    directory.page = async (first, max) => {
      if (first > 0) {
        reachedSecondPage();
        await gate;
      }
      return page(first, max);
    };
    const running = sync.syncAll(caller);
    await atSecondPage;
    // Another replica reads the same store.
    const replica = new UserSyncService({ ...deps, remote: new FakeDirectory() });
    const during = (await replica.status(caller, false)).currentRun;
    // (Published at the start, again with Keycloak's count, then after every page.)
    expect(during).toMatchObject({ processed: 2, total: 3, created: 1, unchanged: 1, failed: 0 });
    expect(during?.startedAt).toBeInstanceOf(Date);
    release();
    await running;
    expect((await replica.status(caller, false)).currentRun).toBeUndefined();
  });

  it("lets a dead runner's progress expire", async () => {
    let now = Date.now();
    store = new MemoryCoordinationStore(() => now);
    sync = new UserSyncService({ ...deps, store });
    directory.users = [
      remoteUser({ username: "one" }),
      remoteUser({ username: "two" }),
      remoteUser({ username: "three" }),
    ];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const page = directory.page.bind(directory);
    directory.page = async (first, max) => {
      if (first > 0) await gate;
      return page(first, max);
    };
    const running = sync.syncAll(caller);
    await vi.waitFor(async () => expect((await sync.status(caller, false)).currentRun?.processed).toBe(2));
    // The runner stalls (as a replica that died would) past the progress's lifetime.
    now += 3 * 60_000;
    expect((await sync.status(caller, false)).currentRun).toBeUndefined();
    release();
    await running;
  });

  it("syncs one Keycloak user by username, without counting as a full run; NOT_FOUND when Keycloak has none", async () => {
    const alone = remoteUser({ username: "alone", firstName: "Ada" });
    directory.users = [alone, remoteUser({ username: "other" })];
    expect(await sync.syncOne(caller, "alone")).toMatchObject({ created: 1, updated: 0, unchanged: 0 });
    expect([...users.rows.values()].map((user) => user.username)).toEqual(["alone"]);
    directory.users[0] = { ...alone, firstName: "Grace" };
    expect(await sync.syncOne(caller, "alone")).toMatchObject({ created: 0, updated: 1 });
    expect([...users.rows.values()][0]?.firstName).toBe("Grace");
    expect(await sync.syncOne(caller, "alone")).toMatchObject({ unchanged: 1 });
    expect(state.runs).toHaveLength(0);
    await expect(sync.syncOne(caller, "nobody")).rejects.toMatchObject({
      kind: "not_found",
      reason: "keycloak_user_not_found",
    });
    denied = true;
    await expect(sync.syncOne(caller, "alone")).rejects.toMatchObject({ kind: "permission_denied" });
  });

  it("fails UNAVAILABLE without saving a run while Keycloak is down, and releases the lock", async () => {
    directory.down = true;
    await expect(sync.syncAll(caller)).rejects.toMatchObject({ kind: "unavailable" });
    expect(state.runs).toHaveLength(0);
    directory.down = false;
    await expect(sync.syncAll(caller)).resolves.toBeDefined();
  });

  it("checks permissions: users.sync to sync, users.read for the status", async () => {
    denied = true;
    await expect(sync.syncAll(caller)).rejects.toMatchObject({ kind: "permission_denied" });
    await expect(sync.pushToKeycloak(caller, randomUUID())).rejects.toMatchObject({
      kind: "permission_denied",
    });
    await expect(sync.status(caller, false)).rejects.toMatchObject({ kind: "permission_denied" });
  });

  it("reports drift: only in Keycloak, only local, and differing fields by proto name", async () => {
    const differs = remoteUser({
      username: "differs",
      email: "other@example.test",
      mfaEnabled: true,
      metadata: { ...NO_METADATA, title: "CTO", links: [{ label: "x", url: "https://x.test" }] },
    });
    const onlyRemote = remoteUser({ username: "onlyremote" });
    directory.users = [differs, onlyRemote];
    const local = users.add({ username: "differs", externalId: differs.externalId, title: "CEO" });
    users.add({ username: "unlinked" });
    users.add({ username: "orphan", externalId: randomUUID() });

    const status = await sync.status(caller, true);
    expect(status.drift?.onlyInKeycloak).toEqual(["onlyremote"]);
    expect([...(status.drift?.onlyLocal ?? [])].sort()).toEqual(["orphan", "unlinked"]);
    expect(status.drift?.differing).toEqual([
      {
        userId: local.id,
        externalId: differs.externalId,
        username: "differs",
        fields: ["email", "mfa_enabled", "title", "links"],
      },
    ]);
    expect((await sync.status(caller, false)).drift).toBeUndefined();
  });

  it("provisions a Keycloak user on first sight, and refuses one Keycloak does not know", async () => {
    const remote = remoteUser({ username: "newcomer" });
    directory.users = [remote];
    const id = await sync.localUserIdFor(remote.externalId);
    expect(users.rows.get(id)?.username).toBe("newcomer");
    expect(await sync.localUserIdFor(remote.externalId)).toBe(id);
    await expect(sync.localUserIdFor(randomUUID())).rejects.toMatchObject({ kind: "unauthenticated" });
    expect(state.failures).toHaveLength(0);
  });

  it("syncs at sign-in; when Keycloak fails then, signs in with the local record and counts the failure", async () => {
    const remote = remoteUser({ username: "signer", firstName: "Changed", mfaEnabled: true });
    directory.users = [remote];
    const local = users.add({ username: "signer", externalId: remote.externalId });
    expect(await sync.syncOnLogin(remote.externalId)).toEqual({ userId: local.id, mfaEnabled: true });
    expect(users.rows.get(local.id)).toMatchObject({ firstName: "Changed", mfaEnabled: true });

    directory.down = true;
    expect(await sync.syncOnLogin(remote.externalId)).toEqual({ userId: local.id, mfaEnabled: undefined });
    expect(state.failures.map((failure) => failure.source)).toEqual(["login"]);
    expect((await sync.status(caller, false)).failuresSince).toBe(1);
    await expect(sync.syncOnLogin(randomUUID())).rejects.toMatchObject({ kind: "unavailable" });
  });

  it("pushes a local user to Keycloak: updates a linked one, re-creates a vanished one, links by username", async () => {
    const remote = remoteUser({ username: "pushed" });
    directory.users = [remote];
    const linked = users.add({ username: "pushed", externalId: remote.externalId, department: "Ops" });
    await sync.pushToKeycloak(caller, linked.id);
    expect(directory.users[0]?.metadata.department).toBe("Ops");

    const vanished = users.add({ username: "vanished", externalId: randomUUID(), phone: "+1 555 0199" });
    const recreated = await sync.pushToKeycloak(caller, vanished.id);
    expect(recreated.externalId).not.toBe(vanished.externalId);
    expect(directory.users.find((user) => user.externalId === recreated.externalId)?.metadata.phone).toBe(
      "+1 555 0199",
    );

    const byName = remoteUser({ username: "byname" });
    directory.users.push(byName);
    const unlinked = users.add({ username: "ByName" });
    expect((await sync.pushToKeycloak(caller, unlinked.id)).externalId).toBe(byName.externalId);

    await expect(sync.pushToKeycloak(caller, randomUUID())).rejects.toMatchObject({ kind: "not_found" });
    directory.down = true;
    await expect(sync.pushToKeycloak(caller, linked.id)).rejects.toMatchObject({ kind: "unavailable" });
    expect(state.failures.map((failure) => failure.source)).toEqual(["push"]);
    expect(changed).toContain(linked.id);
  });

  it("gives the mapped roles as Keycloak's groups and realm roles say, on every read, and leaves unmapped roles alone", async () => {
    const mapping = new RoleMapping([
      {
        source: { kind: "group", path: "/billing/editors" },
        target: { kind: "business_role", name: "billing-editor" },
      },
      { source: { kind: "realm_role", name: "ops" }, target: { kind: "role", name: "operator" } },
      { source: { kind: "group", path: "/staff" }, target: { kind: "role", name: "ghost" } },
    ]);
    const editorId = randomUUID();
    const mapped = new UserSyncService({
      ...deps,
      roleMapping: mapping,
      roles: {
        async findByNames(names) {
          return ["user", "operator", "auditor"]
            .filter((name) => names.includes(name))
            .map((name) => ({
              id: name,
              name,
              description: "",
              permissions: [],
              builtIn: false,
              createdAt: new Date(),
              updatedAt: new Date(),
            }));
        },
      },
      businessRoles: {
        async findByNames(names) {
          return names.some((name) => name.toLowerCase() === "billing-editor")
            ? [
                {
                  id: editorId,
                  name: "Billing-Editor",
                  description: "",
                  grants: [],
                  createdAt: new Date(),
                  updatedAt: new Date(),
                },
              ]
            : [];
        },
      },
    });
    const otherBusinessRole = randomUUID();
    const remote = remoteUser({
      username: "mapped",
      access: { groups: ["/billing/editors/eu"], realmRoles: ["ops", "offline_access"] },
    });
    directory.users = [remote];
    const local = users.add({
      username: "mapped",
      externalId: remote.externalId,
      roles: ["auditor", "user"],
      businessRoleIds: [otherBusinessRole],
    });

    // Sign-in: a subgroup's member holds the group's mapping; "ghost" (no such role) is skipped.
    await mapped.syncOnLogin(remote.externalId);
    expect(users.rows.get(local.id)?.roles).toEqual(["auditor", "operator", "user"]);
    expect([...users.rows.get(local.id)!.businessRoleIds].sort()).toEqual(
      [editorId, otherBusinessRole].sort(),
    );
    expect(changed).toContain(local.id);
    expect((await mapped.status(caller, true)).drift?.differing).toEqual([]);

    // An event: the group and the realm role are gone; Gatehouse's own roles stay.
    directory.users = [{ ...remote, access: { groups: [], realmRoles: [] } }];
    expect((await mapped.status(caller, true)).drift?.differing[0]?.fields).toEqual([
      "roles",
      "business_roles",
    ]);
    expect(await mapped.applyRemoteChange(remote.externalId)).toBe(true);
    expect(users.rows.get(local.id)?.roles).toEqual(["auditor", "user"]);
    expect(users.rows.get(local.id)?.businessRoleIds).toEqual([otherBusinessRole]);

    // A full sync: back in the group.
    directory.users = [{ ...remote, access: { groups: ["/billing/editors"], realmRoles: [] } }];
    expect(await mapped.syncAll(caller)).toMatchObject({ updated: 1, failed: 0 });
    expect([...users.rows.get(local.id)!.businessRoleIds].sort()).toEqual(
      [editorId, otherBusinessRole].sort(),
    );

    // Without a mapping, Keycloak's groups mean nothing.
    directory.users = [{ ...remote, access: { groups: [], realmRoles: [] } }];
    await sync.syncAll(caller);
    expect([...users.rows.get(local.id)!.businessRoleIds].sort()).toEqual(
      [editorId, otherBusinessRole].sort(),
    );
  });

  it("reports the users synced in the last day and the failure rate, full-run failures included", async () => {
    const good = remoteUser({ username: "good" });
    const clash = remoteUser({ username: "clash" });
    directory.users = [good, clash];
    // A local user with the same username, linked to another Keycloak user that exists: a conflict.
    const other = remoteUser({ username: "other" });
    directory.users.push(other);
    users.add({ username: "clash", externalId: other.externalId });
    await sync.syncAll(caller);
    const status = await sync.status(caller, false);
    expect(state.failures.map((failure) => failure.source)).toEqual(["full"]);
    expect(status.failuresSince).toBe(0);
    expect(status).toMatchObject({ usersSyncedInLastDay: 2, failuresInLastDay: 1 });
    expect(status.failureRateInLastDay).toBeCloseTo(1 / 3);
  });
});
