import { DomainError } from "../errors.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { Principal } from "../principal.ts";

export const WATCH_CHANGES_PERMISSION = "changes.watch";

/** A service account's state, as the decision engine's access directory holds it. */
export interface ServiceAccountAccess {
  get(
    kind: "service_account",
    id: string,
  ): Promise<{ readonly active: boolean; readonly grants: ReadonlyMap<string, unknown> } | undefined>;
}

/**
 * Who may watch the change feed. The feed names sessions, tokens and subjects
 * (ids only, never a token or a name), which is what an API service deciding
 * locally needs: users with the permission changes.watch, and enabled service
 * accounts that hold a grant on at least one service — an API service's own
 * identity, as it calls Gatehouse with client credentials.
 */
export class WatchAccess {
  private readonly guard: PermissionGuard;
  private readonly access: ServiceAccountAccess;

  constructor(guard: PermissionGuard, access: ServiceAccountAccess) {
    this.guard = guard;
    this.access = access;
  }

  async requireWatcher(principal: Principal): Promise<void> {
    if (principal.kind === "user") {
      await this.guard.requirePermission(principal, WATCH_CHANGES_PERMISSION);
      return;
    }
    const account = await this.access.get("service_account", principal.subjectId);
    if (account === undefined || !account.active || account.grants.size === 0) {
      throw new DomainError(
        "permission_denied",
        "no_service_grant",
        "only service accounts holding a grant on a service may watch changes",
      );
    }
  }
}
