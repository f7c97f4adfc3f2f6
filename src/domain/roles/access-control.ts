import { DomainError } from "../errors.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { Principal } from "../principal.ts";
import type { RoleRepository } from "./role-repository.ts";

/**
 * RBAC checks for administrative calls. Permissions are loaded from the
 * database on every check (one indexed query), so a role change takes effect
 * on the very next call, on every replica. Service accounts hold no RBAC
 * roles: their access is through service grants, not Gatehouse permissions.
 */
export class AccessControl implements PermissionGuard {
  private readonly roles: Pick<RoleRepository, "permissionsOfUser">;

  constructor(roles: Pick<RoleRepository, "permissionsOfUser">) {
    this.roles = roles;
  }

  async permissionsOf(principal: Principal): Promise<ReadonlySet<string>> {
    if (principal.kind !== "user") return new Set();
    return this.roles.permissionsOfUser(principal.subjectId);
  }

  async hasPermission(principal: Principal, permission: string): Promise<boolean> {
    return (await this.permissionsOf(principal)).has(permission);
  }

  /** Throws permission_denied (reason "missing_permission") unless the principal holds the permission. */
  async requirePermission(principal: Principal, permission: string): Promise<void> {
    if (!(await this.hasPermission(principal, permission))) {
      throw new DomainError(
        "permission_denied",
        "missing_permission",
        `this call needs the permission ${permission}`,
        {
          metadata: { permission },
        },
      );
    }
  }

  /**
   * No privilege escalation: granting permissions (in a role, or a role to a
   * user) needs holding each of them. Throws permission_denied "privilege_escalation".
   */
  async requireHoldsAll(principal: Principal, permissions: Iterable<string>): Promise<void> {
    const held = await this.permissionsOf(principal);
    const missing = [...new Set(permissions)].filter((permission) => !held.has(permission)).sort();
    if (missing.length > 0) {
      throw new DomainError(
        "permission_denied",
        "privilege_escalation",
        `only holders of a permission may grant it; missing: ${missing.join(", ")}`,
        { metadata: { permissions: missing.join(",") } },
      );
    }
  }
}
