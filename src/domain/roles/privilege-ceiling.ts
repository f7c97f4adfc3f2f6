import { DomainError } from "../errors.ts";
import type { Grant, GrantHolder, GrantRepository } from "../grants/grant-repository.ts";
import type { Principal } from "../principal.ts";
import type { RoleRepository, ServiceRoleCatalog } from "./role-repository.ts";

/** What an account may do: Gatehouse permissions (through RBAC roles) and roles on services. */
export interface Privileges {
  readonly permissions: ReadonlySet<string>;
  /** Direct grants and, for users, those of their business roles. */
  readonly grants: readonly Grant[];
}

/** What a write would give an account: permissions (RBAC roles) and service grants (business roles). */
export interface Conferred {
  readonly permissions?: Iterable<string>;
  readonly grants?: readonly Grant[];
}

export interface PrivilegeCeilingDeps {
  readonly roles: Pick<RoleRepository, "permissionsOfUser">;
  readonly grants: Pick<GrantRepository, "list" | "businessGrants">;
  readonly services: ServiceRoleCatalog;
}

/**
 * Holders of grants.write may give anyone (themselves included) any role on
 * any service, so they stand above every service grant; a ceiling below that
 * would be a formality.
 */
const GRANTS_WRITE = "grants.write";

/**
 * Who may manage whom: an actor may act on an account (update it, set its
 * password, disable or delete it, change its roles, business roles or grants,
 * end its sessions, use its vault entries…) only if every privilege the
 * account holds is one the actor holds too. No one manages someone more
 * privileged, and no one confers what they do not hold. A service role is
 * held when the actor has that role or a higher one on the service (the
 * service's order), or grants.write. Accounts act on themselves freely.
 */
export class PrivilegeCeiling {
  private readonly deps: PrivilegeCeilingDeps;

  constructor(deps: PrivilegeCeilingDeps) {
    this.deps = deps;
  }

  async privilegesOf(holder: GrantHolder): Promise<Privileges> {
    if (holder.kind === "service_account") {
      // Service accounts hold no RBAC roles (see AccessControl).
      return { permissions: new Set(), grants: await this.deps.grants.list(holder) };
    }
    const [permissions, direct, business] = await Promise.all([
      this.deps.roles.permissionsOfUser(holder.id),
      this.deps.grants.list(holder),
      this.deps.grants.businessGrants(holder.id),
    ]);
    return { permissions, grants: [...direct, ...business] };
  }

  /**
   * Throws permission_denied "target_more_privileged" unless the actor holds
   * every permission and service role the target account holds.
   */
  async requireMayManage(actor: Principal, target: GrantHolder): Promise<void> {
    if (actor.kind === target.kind && actor.subjectId === target.id) return;
    const [held, theirs] = await Promise.all([this.privilegesOf(holderOf(actor)), this.privilegesOf(target)]);
    const missing = await this.uncovered(held, theirs);
    if (missing.length > 0) {
      throw new DomainError(
        "permission_denied",
        "target_more_privileged",
        "this account holds privileges you do not; only someone who holds all of them may manage it",
        { metadata: { missing: missing.join(",") } },
      );
    }
  }

  /**
   * Throws permission_denied "privilege_escalation" unless the actor holds
   * every permission and service role being conferred.
   */
  async requireMayConfer(actor: Principal, conferred: Conferred): Promise<void> {
    const wanted: Privileges = {
      permissions: new Set(conferred.permissions ?? []),
      grants: conferred.grants ?? [],
    };
    if (wanted.permissions.size === 0 && wanted.grants.length === 0) return;
    const missing = await this.uncovered(await this.privilegesOf(holderOf(actor)), wanted);
    if (missing.length > 0) {
      throw new DomainError(
        "permission_denied",
        "privilege_escalation",
        `only holders of a privilege may confer it; missing: ${missing.join(", ")}`,
        { metadata: { missing: missing.join(",") } },
      );
    }
  }

  /** What `wanted` holds that `held` does not: permission names and "service_id:role". */
  private async uncovered(held: Privileges, wanted: Privileges): Promise<string[]> {
    const missing = [...wanted.permissions].filter((permission) => !held.permissions.has(permission));
    if (wanted.grants.length > 0 && !held.permissions.has(GRANTS_WRITE)) {
      const order = await this.deps.services.rolesOf([...new Set(wanted.grants.map((g) => g.serviceId))]);
      for (const grant of wanted.grants) {
        const roles = order.get(grant.serviceId);
        // A grant on a service removed meanwhile confers nothing.
        if (roles === undefined) continue;
        const needed = roles.indexOf(grant.role);
        const covered = held.grants.some(
          (mine) =>
            mine.serviceId === grant.serviceId &&
            (mine.role === grant.role || (needed >= 0 && roles.indexOf(mine.role) >= needed)),
        );
        if (!covered) missing.push(`${grant.serviceId}:${grant.role}`);
      }
    }
    return [...new Set(missing)].sort();
  }
}

const holderOf = (principal: Principal): GrantHolder => ({ kind: principal.kind, id: principal.subjectId });
