import { randomUUID } from "node:crypto";
import type { Logger } from "../../observability/logger.ts";
import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError, isDomainError } from "../errors.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import type { AccessControl } from "../roles/access-control.ts";
import { USER_ROLE } from "../roles/permissions.ts";
import type { BusinessRoleRepository, RoleRepository } from "../roles/role-repository.ts";
import type { User } from "../users/user.ts";
import type { UserChanges, UserRepository } from "../users/user-repository.ts";
import type { MappedAccess, RoleMapping } from "./role-mapping.ts";
import {
  METADATA_FIELD_NAMES,
  type RemoteUser,
  type RemoteUserDirectory,
  type SyncCounts,
  type SyncFailureSource,
  type SyncProgress,
  type SyncRun,
  type SyncStateRepository,
  type UserLinkRepository,
  type UserMetadata,
} from "./sync-ports.ts";

export interface UserSyncDeps {
  readonly users: Pick<
    UserRepository,
    "getUser" | "findByLogin" | "findByEmail" | "create" | "update" | "list" | "setRoles" | "setBusinessRoles"
  >;
  /**
   * KEYCLOAK_ROLE_MAPPING: the roles and business roles it targets follow the
   * user's Keycloak groups and realm roles wherever Keycloak is read. Absent
   * or empty: roles are Gatehouse's alone.
   */
  readonly roleMapping?: RoleMapping;
  /** To resolve the mapping's target names (needed with a non-empty roleMapping). */
  readonly roles?: Pick<RoleRepository, "findByNames">;
  readonly businessRoles?: Pick<BusinessRoleRepository, "findByNames">;
  readonly links: UserLinkRepository;
  readonly remote: RemoteUserDirectory;
  readonly state: SyncStateRepository;
  readonly store: CoordinationStore;
  readonly access: Pick<AccessControl, "requirePermission">;
  readonly audit: Pick<AuditLog, "track">;
  readonly revocations: RevocationStore;
  readonly changes: AccessChangeNotifier;
  readonly logger: Logger;
  /** Users per page, remote and local. */
  readonly pageSize: number;
  /** Observability hooks: each user brought in step, and each failure by where it happened. */
  readonly onUserSynced?: (outcome: "created" | "updated" | "unchanged") => void;
  readonly onFailure?: (source: SyncFailureSource) => void;
  readonly now?: () => number;
}

export interface UserDrift {
  readonly userId: string;
  readonly externalId: string;
  readonly username: string;
  /** The proto's field names: "email", "first_name", "status", "phone"… */
  readonly fields: readonly string[];
}

export interface Drift {
  /** Usernames of remote users without a local record. */
  readonly onlyInKeycloak: readonly string[];
  /** Usernames of local users without a remote one (unlinked, or linked to a user that is gone). */
  readonly onlyLocal: readonly string[];
  readonly differing: readonly UserDrift[];
}

export interface SyncStatus {
  readonly lastRun: SyncRun | undefined;
  /** Failures outside full runs since the last one finished. */
  readonly failuresSince: number;
  /** The last 24 hours: users whose last sync succeeded in them, and the failed user syncs. */
  readonly usersSyncedInLastDay: number;
  readonly failuresInLastDay: number;
  /** failuresInLastDay ÷ (usersSyncedInLastDay + failuresInLastDay); 0 when there was nothing. */
  readonly failureRateInLastDay: number;
  readonly drift: Drift | undefined;
  /** The full run going on now on any replica, as far as it has got. */
  readonly currentRun: SyncProgress | undefined;
}

type Outcome = "created" | "updated" | "unchanged";
type Counts = { -readonly [K in keyof SyncCounts]: number };

const LOCK_KEY = "keycloak-sync:lock";
/** The lock outlives a stalled replica by this much; a live run renews it every page. */
const LOCK_TTL_MS = 10 * 60_000;
/** Where a full run publishes its progress, so that every replica's status shows it. */
const PROGRESS_KEY = "keycloak-sync:progress";
/**
 * A run republishes its progress every page; a runner that died stops doing
 * so, and its progress disappears after this long.
 */
const PROGRESS_TTL_MS = 2 * 60_000;
/** Each drift list stops growing here (the report is for people, not a full export). */
const DRIFT_LIST_LIMIT = 1000;
/** Runs and failures older than this are pruned after each full sync. */
const RETENTION_MS = 30 * 86_400_000;

const sameText = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const countsOf = (run: SyncCounts): SyncCounts => ({
  created: run.created,
  updated: run.updated,
  unchanged: run.unchanged,
  disabled: run.disabled,
  failed: run.failed,
});
const reasonOf = (error: unknown) => (isDomainError(error) ? error.reason : "internal");

/**
 * Keeps local user records and Keycloak in step. Keycloak is the source of
 * truth for identity fields (username, email, names, enabled, OTP); Gatehouse
 * owns the profile metadata (phone, telegram, organization, department,
 * title, middle name, links) and mirrors it into Keycloak attributes.
 *
 * - syncAll: every Keycloak user, paged; idempotent; one run at a time across
 *   replicas (a lock in the coordination store; a second caller gets
 *   ABORTED). Local users whose Keycloak user is gone are disabled.
 *   While it runs, its progress is in the coordination store (status's
 *   currentRun), renewed every page and removed at the end.
 * - syncOne: one Keycloak user by username (the drift report's "only in
 *   Keycloak" fix); not a full run.
 * - syncOnLogin / localUserIdFor: one user, at every Keycloak sign-in and for
 *   tokens of users not seen before. Failures are recorded and never fail a
 *   sign-in that can go on with the local record.
 * - pushToKeycloak: one local user's fields and metadata written to Keycloak.
 * - status: the last full run, failures since, and the drift report.
 *
 * Usernames and emails compare case-insensitively: Keycloak keeps both in
 * lower case.
 */
export class UserSyncService {
  private readonly deps: UserSyncDeps;
  private readonly now: () => number;

  constructor(deps: UserSyncDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  // --- The admin API ---

  syncAll(caller: Actor): Promise<SyncRun> {
    return this.deps.audit.track({ action: "users.sync_from_keycloak", actor: caller }, async (note) => {
      await this.deps.access.requirePermission(caller.principal, "users.sync");
      const run = await this.runFullSync();
      for (const [key, value] of Object.entries(countsOf(run))) note.detail(key, String(value));
      return run;
    });
  }

  /** Imports or updates one Keycloak user, found by username. Throws not_found when Keycloak has none. */
  syncOne(caller: Actor, username: string): Promise<SyncRun> {
    return this.deps.audit.track(
      {
        action: "users.sync_from_keycloak",
        actor: caller,
        targetKind: "user",
        details: { scope: "one_user" },
      },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "users.sync");
        const startedAt = new Date(this.now());
        const remote = await this.deps.remote.findByUsername(username);
        if (remote === undefined) {
          throw new DomainError(
            "not_found",
            "keycloak_user_not_found",
            "Keycloak has no user with this username",
          );
        }
        const { userId, outcome } = await this.importUser(remote);
        note.target("user", userId);
        note.detail("outcome", outcome);
        const counts: Counts = { created: 0, updated: 0, unchanged: 0, disabled: 0, failed: 0 };
        counts[outcome] = 1;
        return { ...counts, startedAt, finishedAt: new Date(this.now()) };
      },
    );
  }

  pushToKeycloak(caller: Actor, userId: string): Promise<User> {
    return this.deps.audit.track(
      { action: "users.sync_to_keycloak", actor: caller, targetKind: "user", targetId: userId },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "users.sync");
        const user = await this.deps.users.getUser(userId);
        if (user === undefined) throw new DomainError("not_found", "user_not_found", "no such user");
        try {
          return await this.push(user);
        } catch (error) {
          await this.recordFailure("push", user.externalId, userId, error);
          throw error;
        }
      },
    );
  }

  async status(caller: Actor, includeDrift: boolean): Promise<SyncStatus> {
    await this.deps.access.requirePermission(caller.principal, "users.read");
    const lastRun = await this.deps.state.lastRun();
    // Full-run failures are recorded too, but before the run's finish: not "since" it.
    const failuresSince = await this.deps.state.failuresSince(lastRun?.finishedAt ?? new Date(0));
    const day = await this.deps.state.activitySince(new Date(this.now() - 86_400_000));
    const attempts = day.usersSynced + day.failures;
    return {
      lastRun,
      failuresSince,
      usersSyncedInLastDay: day.usersSynced,
      failuresInLastDay: day.failures,
      failureRateInLastDay: attempts === 0 ? 0 : day.failures / attempts,
      drift: includeDrift ? await this.drift() : undefined,
      currentRun: await this.currentRun(),
    };
  }

  /** The progress a running full sync published; undefined when none runs (or the store cannot say). */
  private async currentRun(): Promise<SyncProgress | undefined> {
    const published = await this.deps.store.get(PROGRESS_KEY).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, "reading the keycloak sync progress failed");
      return undefined;
    });
    if (published === undefined) return undefined;
    const {
      runId: _runId,
      startedAt,
      ...progress
    } = JSON.parse(published) as Omit<SyncProgress, "startedAt"> & {
      runId: string;
      startedAt: string;
    };
    return { ...progress, startedAt: new Date(startedAt) };
  }

  // --- Used by the Keycloak provider ---

  /**
   * The local user of a Keycloak user, importing them when there is none yet.
   * Throws unauthenticated when Keycloak does not know the user either.
   */
  async localUserIdFor(externalId: string): Promise<string> {
    const linked = await this.deps.links.findUserIdByExternalId(externalId);
    if (linked !== undefined) return linked;
    try {
      const remote = await this.deps.remote.get(externalId);
      if (remote === undefined) {
        throw new DomainError("unauthenticated", "unknown_subject", "the token's user does not exist");
      }
      return (await this.importUser(remote)).userId;
    } catch (error) {
      if (reasonOf(error) !== "unknown_subject") await this.recordFailure("provision", externalId, "", error);
      throw error;
    }
  }

  /** The local user linked to a Keycloak user, without importing. */
  linkedUserIdFor(externalId: string): Promise<string | undefined> {
    return this.deps.links.findUserIdByExternalId(externalId);
  }

  /** The Keycloak id of a local user ("" when unlinked, undefined when there is no such user). */
  async externalIdOf(userId: string): Promise<string | undefined> {
    return (await this.deps.users.getUser(userId))?.externalId;
  }

  /**
   * Refreshes the local record from Keycloak at sign-in. Throws only when
   * there is no local record to go on with: otherwise a failure is logged
   * and counted, and the sign-in goes on with the record as it is.
   */
  async syncOnLogin(externalId: string): Promise<{ userId: string; mfaEnabled: boolean | undefined }> {
    try {
      const remote = await this.deps.remote.get(externalId);
      if (remote === undefined) {
        throw new DomainError("not_found", "keycloak_user_not_found", "the user does not exist in Keycloak");
      }
      return { userId: (await this.importUser(remote)).userId, mfaEnabled: remote.mfaEnabled };
    } catch (error) {
      await this.recordFailure("login", externalId, "", error);
      const linked = await this.deps.links.findUserIdByExternalId(externalId);
      if (linked === undefined) throw error;
      return { userId: linked, mfaEnabled: undefined };
    }
  }

  /** Re-reads one Keycloak user into the local record (e.g. after Keycloak refused a disabled account). */
  async refreshFromKeycloak(externalId: string): Promise<void> {
    try {
      const remote = await this.deps.remote.get(externalId);
      if (remote !== undefined) await this.importUser(remote);
    } catch (error) {
      await this.recordFailure("login", externalId, "", error);
    }
  }

  // --- Applied from the provider's events (src/domain/sync/identity-event-poller.ts) ---

  /**
   * A Keycloak user changed: the local record follows (a user gone from
   * Keycloak meanwhile is treated as deleted). Users Gatehouse has not seen
   * are left for their first sign-in or token, as before.
   */
  async applyRemoteChange(externalId: string): Promise<boolean> {
    const userId = await this.deps.links.findUserIdByExternalId(externalId);
    if (userId === undefined) return false;
    const remote = await this.deps.remote.get(externalId);
    if (remote === undefined) return this.applyRemoteDeletion(externalId);
    return (await this.importUser(remote)).outcome !== "unchanged";
  }

  /** A Keycloak user was deleted: the local user is disabled and their tokens refused at once. */
  async applyRemoteDeletion(externalId: string): Promise<boolean> {
    const userId = await this.deps.links.findUserIdByExternalId(externalId);
    const user = userId === undefined ? undefined : await this.deps.users.getUser(userId);
    if (user === undefined || user.status === "disabled") return false;
    await this.deps.users.update(user.id, { status: "disabled" });
    await this.endAccess(user.id);
    await this.deps.changes.subjectChanged(user.id);
    return true;
  }

  /**
   * A full sync started by Gatehouse itself (a gap in the event stream);
   * undefined when another run holds the lock (that run reconciles as well).
   */
  async reconcile(): Promise<SyncRun | undefined> {
    try {
      return await this.runFullSync();
    } catch (error) {
      if (reasonOf(error) === "sync_in_progress") return undefined;
      throw error;
    }
  }

  // --- The full sync ---

  private async runFullSync(): Promise<SyncRun> {
    const { store } = this.deps;
    const runId = randomUUID();
    if (!(await store.setIfAbsent(LOCK_KEY, runId, LOCK_TTL_MS))) {
      throw new DomainError(
        "aborted",
        "sync_in_progress",
        "a Keycloak sync is already running; try again when it ends",
      );
    }
    try {
      const startedAt = new Date(this.now());
      const counts: Counts = { created: 0, updated: 0, unchanged: 0, disabled: 0, failed: 0 };
      const progress = { processed: 0, total: 0 };
      const publish = () => this.publishProgress(runId, { ...counts, ...progress, startedAt });
      await publish();
      // Without a count the run goes on; its progress shows no total.
      progress.total = await this.deps.remote.count().catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "counting the keycloak users failed");
        return 0;
      });
      await publish();
      const afterPage = async () => {
        await this.renewLock(runId);
        await publish();
      };
      const seen = new Set<string>();
      await this.eachRemoteUser(async (remote) => {
        seen.add(remote.externalId);
        await this.counted(
          counts,
          remote.externalId,
          "",
          async () => (await this.importUser(remote)).outcome,
        );
        progress.processed += 1;
      }, afterPage);
      await this.eachLocalUser(async (user) => {
        if (user.externalId === "" || seen.has(user.externalId)) return;
        await this.counted(counts, user.externalId, user.id, () => this.reconcileUnseen(user));
      }, afterPage);
      const run: SyncRun = { ...counts, startedAt, finishedAt: new Date(this.now()) };
      await this.deps.state.saveRun(run);
      await this.deps.state.prune(new Date(this.now() - RETENTION_MS)).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "pruning old keycloak sync records failed");
      });
      this.deps.logger.info(countsOf(run), "keycloak sync finished");
      return run;
    } finally {
      if ((await store.get(LOCK_KEY).catch(() => undefined)) === runId)
        await store.delete(LOCK_KEY).catch(() => {});
      if ((await this.progressRunId()) === runId) await store.delete(PROGRESS_KEY).catch(() => {});
    }
  }

  /** Best effort: a store that fails here fails the lock renewal soon enough. */
  private async publishProgress(runId: string, progress: SyncProgress): Promise<void> {
    await this.deps.store
      .set(PROGRESS_KEY, JSON.stringify({ runId, ...progress }), PROGRESS_TTL_MS)
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, "publishing the keycloak sync progress failed");
      });
  }

  private async progressRunId(): Promise<string | undefined> {
    const published = await this.deps.store.get(PROGRESS_KEY).catch(() => undefined);
    return published === undefined ? undefined : (JSON.parse(published) as { runId: string }).runId;
  }

  /** Runs one user's step of a full sync and counts its outcome; a failure is counted, logged, and the run goes on. */
  private async counted(
    counts: Counts,
    externalId: string,
    userId: string,
    step: () => Promise<Outcome | "disabled" | undefined>,
  ): Promise<void> {
    try {
      const outcome = await step();
      if (outcome !== undefined) counts[outcome] += 1;
    } catch (error) {
      counts.failed += 1;
      await this.recordFailure("full", externalId, userId, error);
    }
  }

  /**
   * A linked local user no page listed. Paging by offset can skip a user when
   * others are deleted meanwhile, so each is looked up once more before it
   * is disabled.
   */
  private async reconcileUnseen(user: User): Promise<Outcome | "disabled" | undefined> {
    const remote = await this.deps.remote.get(user.externalId);
    if (remote !== undefined) return (await this.importUser(remote)).outcome;
    if (user.status === "disabled") return undefined;
    await this.deps.users.update(user.id, { status: "disabled" });
    await this.endAccess(user.id);
    await this.deps.changes.subjectChanged(user.id);
    return "disabled";
  }

  private async eachRemoteUser(
    visit: (user: RemoteUser) => Promise<void>,
    afterPage?: () => Promise<void>,
  ): Promise<void> {
    const { pageSize } = this.deps;
    for (let first = 0; ; first += pageSize) {
      const page = await this.deps.remote.page(first, pageSize);
      for (const user of page) await visit(user);
      await afterPage?.();
      if (page.length < pageSize) return;
    }
  }

  private async eachLocalUser(
    visit: (user: User) => Promise<void>,
    afterPage?: () => Promise<void>,
  ): Promise<void> {
    for (let pageToken = ""; ; ) {
      const page = await this.deps.users.list({
        pageSize: this.deps.pageSize,
        pageToken,
        query: "",
        status: undefined,
        role: "",
      });
      for (const user of page.items) await visit(user);
      await afterPage?.();
      if (page.nextPageToken === "") return;
      pageToken = page.nextPageToken;
    }
  }

  private async renewLock(runId: string): Promise<void> {
    if ((await this.deps.store.get(LOCK_KEY)) === runId)
      await this.deps.store.set(LOCK_KEY, runId, LOCK_TTL_MS);
  }

  // --- One user ---

  /**
   * Creates or updates the local record of a Keycloak user. A local user not
   * linked yet but with the same username or email (made before Keycloak was
   * used) is linked rather than duplicated.
   */
  private async importUser(remote: RemoteUser): Promise<{ userId: string; outcome: Outcome }> {
    const imported = await this.importUserRecord(remote);
    await this.deps.links.markSynced(imported.userId);
    this.deps.onUserSynced?.(imported.outcome);
    return imported;
  }

  private async importUserRecord(remote: RemoteUser): Promise<{ userId: string; outcome: Outcome }> {
    const { users, links } = this.deps;
    const linkedId = await links.findUserIdByExternalId(remote.externalId);
    let local = linkedId === undefined ? undefined : await users.getUser(linkedId);
    let outcome: Outcome = "unchanged";
    if (local === undefined) {
      const candidate =
        (await users.findByLogin(remote.username)) ??
        (remote.email === "" ? undefined : await users.findByEmail(remote.email));
      if (candidate !== undefined) {
        if (candidate.externalId !== "" && (await this.deps.remote.get(candidate.externalId)) !== undefined) {
          throw new DomainError(
            "already_exists",
            "sync_conflict",
            "a local user with this username or email is linked to another Keycloak user",
          );
        }
        await links.link(candidate.id, remote.externalId);
        local = candidate;
        outcome = "updated";
      }
    }
    if (local === undefined) {
      const user = await users.create({
        id: randomUUID(),
        username: remote.username,
        email: remote.email,
        emailVerified: remote.emailVerified,
        profile: { firstName: remote.firstName, lastName: remote.lastName, ...remote.metadata },
        externalId: remote.externalId,
        roles: [USER_ROLE],
      });
      if (!remote.enabled) await users.update(user.id, { status: "disabled" });
      if (remote.mfaEnabled) await links.setMfaEnabled(user.id, true);
      if (await this.applyMappedAccess(user, remote)) await this.deps.changes.subjectChanged(user.id);
      return { userId: user.id, outcome: "created" };
    }
    // One rule wherever Keycloak is read (sign-in, events, full sync): Keycloak's values win. Gatehouse
    // writes metadata to Keycloak before its own record, so this keeps Gatehouse's writes too.
    const changes = { ...identityChanges(local, remote), ...metadataChanges(local, remote) };
    if (Object.keys(changes).length > 0) {
      await users.update(local.id, changes);
      if (changes.status === "disabled") await this.endAccess(local.id);
      outcome = "updated";
    }
    if (local.mfaEnabled !== remote.mfaEnabled) {
      await links.setMfaEnabled(local.id, remote.mfaEnabled);
      outcome = "updated";
    }
    if (await this.applyMappedAccess(local, remote)) outcome = "updated";
    if (outcome === "updated") await this.deps.changes.subjectChanged(local.id);
    return { userId: local.id, outcome };
  }

  // --- Roles across (KEYCLOAK_ROLE_MAPPING) ---

  private get mapping(): RoleMapping | undefined {
    const mapping = this.deps.roleMapping;
    return mapping === undefined || mapping.isEmpty ? undefined : mapping;
  }

  /** The mapped business roles that exist: name (lower case) → id. */
  private async managedBusinessRoleIds(mapping: RoleMapping): Promise<Map<string, string>> {
    if (mapping.managedBusinessRoles.size === 0 || this.deps.businessRoles === undefined) return new Map();
    const found = await this.deps.businessRoles.findByNames([...mapping.managedBusinessRoles]);
    return new Map(found.map((role) => [role.name.toLowerCase(), role.id]));
  }

  /**
   * The roles and business role ids the user should hold: those the mapping
   * does not manage as they are, the managed ones as Keycloak says. Targets
   * that do not exist in Gatehouse are left out (and logged).
   */
  private async wantedAccess(
    user: User,
    wanted: MappedAccess,
    mapping: RoleMapping,
    businessRoleIds: Map<string, string>,
  ): Promise<{ roles: string[]; businessRoleIds: string[] }> {
    const existingRoles =
      wanted.roles.size === 0 || this.deps.roles === undefined
        ? []
        : (await this.deps.roles.findByNames([...wanted.roles])).map((role) => role.name);
    const missing = [
      ...[...wanted.roles].filter((name) => !existingRoles.includes(name)),
      ...[...wanted.businessRoles].filter((name) => !businessRoleIds.has(name.toLowerCase())),
    ];
    if (missing.length > 0)
      this.deps.logger.warn({ missing }, "keycloak role mapping: mapped roles missing in Gatehouse, skipped");
    const managedIds = new Set(businessRoleIds.values());
    const roles = [...new Set([...user.roles.filter((r) => !mapping.managedRoles.has(r)), ...existingRoles])];
    const ids = [
      ...new Set([
        ...user.businessRoleIds.filter((id) => !managedIds.has(id)),
        ...[...wanted.businessRoles].flatMap((name) => businessRoleIds.get(name.toLowerCase()) ?? []),
      ]),
    ];
    return { roles: roles.sort(), businessRoleIds: ids.sort() };
  }

  /** Brings the mapped roles in step with Keycloak; true when something changed. */
  private async applyMappedAccess(user: User, remote: RemoteUser): Promise<boolean> {
    const mapping = this.mapping;
    if (mapping === undefined || remote.access === undefined) return false;
    const current = (await this.deps.users.getUser(user.id)) ?? user;
    const next = await this.wantedAccess(
      current,
      mapping.apply(remote.access),
      mapping,
      await this.managedBusinessRoleIds(mapping),
    );
    let changed = false;
    if (!sameSet(next.roles, current.roles)) {
      await this.deps.users.setRoles(current.id, next.roles, { keepAnActiveAdmin: true });
      changed = true;
    }
    if (!sameSet(next.businessRoleIds, current.businessRoleIds)) {
      await this.deps.users.setBusinessRoles(current.id, next.businessRoleIds);
      changed = true;
    }
    return changed;
  }

  /** "roles" and "business_roles" when the mapped roles differ from what Keycloak says. */
  private async accessDrift(
    user: User,
    remote: RemoteUser,
    businessRoleIds: Map<string, string>,
  ): Promise<string[]> {
    const mapping = this.mapping;
    if (mapping === undefined || remote.access === undefined) return [];
    const next = await this.wantedAccess(user, mapping.apply(remote.access), mapping, businessRoleIds);
    const fields: string[] = [];
    if (!sameSet(next.roles, user.roles)) fields.push("roles");
    if (!sameSet(next.businessRoleIds, user.businessRoleIds)) fields.push("business_roles");
    return fields;
  }

  /** Tokens issued so far are rejected at once, on every replica. */
  private endAccess(userId: string): Promise<void> {
    return this.deps.revocations.revokeSubjectTokensIssuedBefore(userId, new Date(this.now()));
  }

  /** Writes the local user to Keycloak, creating (or re-creating) and linking the Keycloak user when needed. */
  private async push(user: User): Promise<User> {
    const fields = {
      username: user.username,
      email: user.email,
      emailVerified: user.emailVerified,
      firstName: user.firstName,
      lastName: user.lastName,
      enabled: user.status !== "disabled",
      metadata: metadataOf(user),
    };
    let externalId = user.externalId;
    if (externalId !== "") {
      try {
        await this.deps.remote.update(externalId, fields);
      } catch (error) {
        if (!(isDomainError(error) && error.kind === "not_found")) throw error;
        externalId = "";
      }
    }
    if (externalId === "") {
      const existing =
        (await this.deps.remote.findByUsername(user.username)) ??
        (await this.deps.remote.findByEmail(user.email));
      if (existing !== undefined) {
        const owner = await this.deps.links.findUserIdByExternalId(existing.externalId);
        if (owner !== undefined && owner !== user.id) {
          throw new DomainError(
            "already_exists",
            "sync_conflict",
            "the Keycloak user with this username or email is linked to another local user",
          );
        }
        externalId = existing.externalId;
        await this.deps.remote.update(externalId, fields);
      } else {
        externalId = await this.deps.remote.create(fields);
      }
      await this.deps.links.link(user.id, externalId);
    }
    await this.deps.links.markSynced(user.id);
    await this.deps.changes.subjectChanged(user.id);
    const pushed = await this.deps.users.getUser(user.id);
    if (pushed === undefined) throw new DomainError("not_found", "user_not_found", "no such user");
    return pushed;
  }

  private async recordFailure(
    source: SyncFailureSource,
    externalId: string,
    userId: string,
    error: unknown,
  ): Promise<void> {
    const reason = reasonOf(error);
    this.deps.onFailure?.(source);
    this.deps.logger.warn({ err: error, source, externalId, userId, reason }, "keycloak sync failure");
    await this.deps.state
      .recordFailure({ source, externalId, userId, reason })
      .catch((stateError: unknown) => {
        this.deps.logger.error({ err: stateError }, "recording a keycloak sync failure failed");
      });
  }

  // --- Drift ---

  private async drift(): Promise<Drift> {
    const remoteUsers = new Map<string, RemoteUser>();
    await this.eachRemoteUser(async (user) => {
      remoteUsers.set(user.externalId, user);
    });
    const onlyLocal: string[] = [];
    const differing: UserDrift[] = [];
    const linked = new Set<string>();
    const mapping = this.mapping;
    const businessRoleIds = mapping === undefined ? new Map() : await this.managedBusinessRoleIds(mapping);
    await this.eachLocalUser(async (user) => {
      const remote = user.externalId === "" ? undefined : remoteUsers.get(user.externalId);
      if (remote === undefined) {
        if (onlyLocal.length < DRIFT_LIST_LIMIT) onlyLocal.push(user.username);
        return;
      }
      linked.add(user.externalId);
      const fields = [
        ...differingFields(user, remote),
        ...(await this.accessDrift(user, remote, businessRoleIds)),
      ];
      if (fields.length > 0 && differing.length < DRIFT_LIST_LIMIT) {
        differing.push({ userId: user.id, externalId: user.externalId, username: user.username, fields });
      }
    });
    const onlyInKeycloak = [...remoteUsers.values()]
      .filter((user) => !linked.has(user.externalId))
      .slice(0, DRIFT_LIST_LIMIT)
      .map((user) => user.username);
    return { onlyInKeycloak, onlyLocal, differing };
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((item) => left.has(item));
}

function metadataOf(user: User): UserMetadata {
  return {
    middleName: user.middleName,
    phone: user.phone,
    telegram: user.telegram,
    organization: user.organization,
    department: user.department,
    title: user.title,
    links: user.links,
  };
}

/** The metadata fields whose Keycloak attribute differs from the local value, as changes to the local record. */
function metadataChanges(local: User, remote: RemoteUser): UserChanges {
  const current = metadataOf(local);
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(METADATA_FIELD_NAMES) as Array<keyof UserMetadata>) {
    if (!sameMetadata(key, current, remote.metadata)) changes[key] = remote.metadata[key];
  }
  return changes as UserChanges;
}

function sameMetadata(key: keyof UserMetadata, a: UserMetadata, b: UserMetadata): boolean {
  if (key !== "links") return a[key] === b[key];
  return (
    a.links.length === b.links.length &&
    a.links.every((link, i) => link.label === b.links[i]?.label && link.url === b.links[i]?.url)
  );
}

/** The identity fields Keycloak owns that differ locally, as changes to the local record. */
function identityChanges(local: User, remote: RemoteUser): UserChanges {
  const changes: { -readonly [K in keyof UserChanges]: UserChanges[K] } = {};
  if (!sameText(local.username, remote.username)) changes.username = remote.username;
  if (!sameText(local.email, remote.email)) changes.email = remote.email;
  if (local.emailVerified !== remote.emailVerified) changes.emailVerified = remote.emailVerified;
  if (local.firstName !== remote.firstName) changes.firstName = remote.firstName;
  if (local.lastName !== remote.lastName) changes.lastName = remote.lastName;
  // A lockout is Gatehouse's own; only enabled/disabled is Keycloak's.
  if ((local.status === "disabled") === remote.enabled)
    changes.status = remote.enabled ? "active" : "disabled";
  return changes;
}

const IDENTITY_FIELD_NAMES: Partial<Record<keyof UserChanges, string>> = {
  username: "username",
  email: "email",
  emailVerified: "email_verified",
  firstName: "first_name",
  lastName: "last_name",
  status: "status",
};

/** Every field that differs between the local record and Keycloak, by its proto name. */
export function differingFields(local: User, remote: RemoteUser): string[] {
  const fields = Object.keys(identityChanges(local, remote)).map(
    (key) => IDENTITY_FIELD_NAMES[key as keyof UserChanges] ?? key,
  );
  if (local.mfaEnabled !== remote.mfaEnabled) fields.push("mfa_enabled");
  const metadata = metadataOf(local);
  for (const key of Object.keys(METADATA_FIELD_NAMES) as Array<keyof UserMetadata>) {
    if (!sameMetadata(key, metadata, remote.metadata)) fields.push(METADATA_FIELD_NAMES[key]);
  }
  return fields;
}
