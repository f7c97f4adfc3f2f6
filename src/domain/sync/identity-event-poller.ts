import { randomUUID } from "node:crypto";
import type { Logger } from "../../observability/logger.ts";
import { isDomainError } from "../errors.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { IdentityProvider } from "../ports/identity-provider.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import type {
  EventCursorRepository,
  IdentityEvent,
  IdentityEventKind,
  IdentityEventSource,
} from "./identity-events.ts";
import type { SyncRun } from "./sync-ports.ts";
import type { UserSyncService } from "./user-sync-service.ts";

export interface IdentityEventPollerDeps {
  readonly source: IdentityEventSource;
  readonly cursor: EventCursorRepository;
  readonly store: CoordinationStore;
  readonly sync: Pick<
    UserSyncService,
    "applyRemoteChange" | "applyRemoteDeletion" | "reconcile" | "linkedUserIdFor"
  >;
  readonly sessions: Pick<IdentityProvider, "endUserSessions">;
  readonly revocations: RevocationStore;
  readonly logger: Logger;
  readonly settings: {
    readonly pollMs: number;
    /** The provider keeps events this long; a cursor not polled for longer has lost some. */
    readonly retentionMs: number;
    /** How long a revoked session's access tokens can still be presented. */
    readonly sessionRevocationMs: number;
  };
  readonly onApplied?: (kind: IdentityEventKind, lagMs: number) => void;
  readonly onGap?: (run: SyncRun | undefined) => void;
  readonly onFailure?: (stage: "poll" | "apply") => void;
  readonly now?: () => number;
}

const LOCK_KEY = "keycloak-events:lock";

/**
 * Applies the identity provider's events so that every replica decides
 * alike within a poll interval: one replica at a time polls (a lock in the
 * coordination store, renewed each round, taken over by another replica
 * when it lapses), applies each event through the change feed (revocations,
 * local records), and persists the cursor in the database so that a restart
 * or another replica goes on where it stopped.
 *
 * - user changed → the local record follows Keycloak (src/domain/sync);
 * - user deleted → local user disabled, tokens refused;
 * - session ended (an admin, or the user's own logout) → its `sid` revoked;
 * - all sessions ended (an admin's sign-out) → tokens issued up to then refused;
 * - password set or reset → the user's other sessions end (all of them for an
 *   administrator's reset), at Keycloak and mesh-wide;
 * - a group or role definition changed (only reported with a role mapping) →
 *   one full reconcile per round, so every member's mapped roles follow.
 *
 * A cursor not advanced for longer than the provider's retention means events
 * were lost: a full reconcile runs, counted and logged, and polling restarts
 * from then. A fresh installation (no cursor) starts at "now".
 */
export class IdentityEventPoller {
  private readonly deps: IdentityEventPollerDeps;
  private readonly now: () => number;
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Warn once when polling starts failing, and say when it recovers (not every round). */
  private failing = false;

  constructor(deps: IdentityEventPollerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.deps.settings.pollMs <= 0 || this.closed) return;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.pollOnce()
        .then(() => {
          if (this.failing) this.deps.logger.info("keycloak events: polling works again");
          this.failing = false;
        })
        .catch((error: unknown) => {
          this.deps.onFailure?.("poll");
          if (!this.failing)
            this.deps.logger.warn({ err: error, reason: reasonOf(error) }, "keycloak events: poll failed");
          this.failing = true;
        })
        .finally(() => {
          this.running = undefined;
          if (!this.closed) this.schedule(this.deps.settings.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    const { store } = this.deps;
    if ((await store.get(LOCK_KEY).catch(() => undefined)) === this.owner)
      await store.delete(LOCK_KEY).catch(() => {});
  }

  /** One round: take or keep the lock, then read and apply what happened since the cursor. */
  async pollOnce(): Promise<void> {
    if (!(await this.holdLock())) return;
    const { source, cursor } = this.deps;
    const saved = await cursor.load();
    const now = this.now();
    if (saved === undefined) {
      await cursor.save(source.startPosition(new Date(now)), new Date(now));
      return;
    }
    if (now - saved.polledAt.getTime() > this.deps.settings.retentionMs) {
      await this.reconcileGap(saved.polledAt);
      return;
    }
    const batch = await source.readSince(saved.position);
    let position = saved.position;
    let reconciled = false;
    for (const event of batch.events) {
      try {
        // One reconcile covers every directory change read in the round.
        if (event.kind === "directory_changed") {
          if (!reconciled) await this.deps.sync.reconcile();
          reconciled = true;
        } else await this.apply(event);
        this.deps.onApplied?.(event.kind, Math.max(0, this.now() - event.at.getTime()));
      } catch (error) {
        if (isDomainError(error) && error.kind === "unavailable") {
          // Try this event again next round.
          await cursor.save(position, new Date(now));
          throw error;
        }
        this.deps.onFailure?.("apply");
        this.deps.logger.warn(
          { err: error, kind: event.kind, reason: reasonOf(error) },
          "keycloak events: an event could not be applied; skipped",
        );
      }
      position = event.position;
    }
    await cursor.save(batch.position, new Date(now));
  }

  private async holdLock(): Promise<boolean> {
    const { store } = this.deps;
    const ttlMs = Math.max(15_000, this.deps.settings.pollMs * 5);
    if (await store.setIfAbsent(LOCK_KEY, this.owner, ttlMs)) return true;
    if ((await store.get(LOCK_KEY)) !== this.owner) return false;
    await store.set(LOCK_KEY, this.owner, ttlMs);
    return true;
  }

  private async reconcileGap(polledAt: Date): Promise<void> {
    const now = new Date(this.now());
    const position = this.deps.source.startPosition(now);
    this.deps.logger.warn(
      { lastPolledAt: polledAt.toISOString() },
      "keycloak events: the cursor is older than Keycloak's event retention; running a full reconcile",
    );
    const run = await this.deps.sync.reconcile();
    this.deps.onGap?.(run);
    this.deps.logger.info(
      run === undefined ? { skipped: "a sync was already running" } : { ...run },
      "keycloak events: full reconcile after a gap finished",
    );
    await this.deps.cursor.save(position, now);
  }

  private async apply(event: IdentityEvent): Promise<void> {
    const { sync, revocations, settings } = this.deps;
    switch (event.kind) {
      case "user_changed":
        await sync.applyRemoteChange(event.externalId);
        return;
      case "user_deleted":
        await sync.applyRemoteDeletion(event.externalId);
        return;
      case "session_ended":
        await revocations.revokeSession(event.sessionId, new Date(this.now() + settings.sessionRevocationMs));
        return;
      case "user_sessions_ended": {
        const userId = await sync.linkedUserIdFor(event.externalId);
        if (userId !== undefined) await revocations.revokeSubjectTokensIssuedBefore(userId, event.at);
        return;
      }
      case "credentials_reset": {
        const userId = await sync.linkedUserIdFor(event.externalId);
        if (userId !== undefined)
          await this.deps.sessions.endUserSessions(userId, "credentials_reset", {
            exceptSessionId: event.bySessionId,
          });
        return;
      }
      case "directory_changed":
        await sync.reconcile();
        return;
    }
  }
}

const reasonOf = (error: unknown) => (isDomainError(error) ? error.reason : "internal");
