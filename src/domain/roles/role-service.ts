import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { AccessControl } from "./access-control.ts";
import { ADMIN_ROLE, isPermission, PERMISSIONS, USER_ROLE } from "./permissions.ts";
import type { Role } from "./role.ts";
import type { RoleChanges, RoleRepository } from "./role-repository.ts";

export interface RoleServiceDeps {
  readonly roles: RoleRepository;
  readonly access: AccessControl;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
}

const notFound = () => new DomainError("not_found", "role_not_found", "no such role");

function checkPermissions(permissions: readonly string[]): void {
  const unknown = permissions.filter((permission) => !isPermission(permission));
  if (unknown.length > 0) {
    throw new DomainError(
      "invalid_argument",
      "unknown_permission",
      `unknown permissions: ${unknown.join(", ")}`,
      {
        violations: unknown.map((permission) => ({
          field: "permissions.permissions",
          description: `"${permission}" is not a Gatehouse permission`,
        })),
      },
    );
  }
}

/** RBAC roles: bundles of Gatehouse permissions. Reads need roles.read, writes roles.write. */
export class RoleService {
  private readonly deps: RoleServiceDeps;

  constructor(deps: RoleServiceDeps) {
    this.deps = deps;
  }

  /**
   * At start-up: the built-in admin role holds the whole catalogue, including
   * permissions added since, and the built-in user role (every sign-up's)
   * holds none, whatever an earlier version let someone add to it.
   */
  async ensureBuiltInRoles(): Promise<void> {
    await this.deps.roles.syncBuiltInPermissions(
      ADMIN_ROLE,
      PERMISSIONS.map((permission) => permission.name),
    );
    await this.deps.roles.syncBuiltInPermissions(USER_ROLE, []);
  }

  create(
    caller: Actor,
    input: { name: string; description: string; permissions: readonly string[] },
  ): Promise<Role> {
    return this.deps.audit.track(
      { action: "roles.create", actor: caller, targetKind: "role" },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        checkPermissions(input.permissions);
        await this.deps.access.requireHoldsAll(caller.principal, input.permissions);
        const role = await this.deps.roles.create(input);
        note.target("role", role.id);
        note.detail("name", role.name);
        return role;
      },
    );
  }

  async get(caller: Actor, id: string): Promise<Role> {
    await this.deps.access.requirePermission(caller.principal, "roles.read");
    const role = await this.deps.roles.get(id);
    if (role === undefined) throw notFound();
    return role;
  }

  async list(caller: Actor, query: { pageSize: number; pageToken: string }): Promise<Page<Role>> {
    await this.deps.access.requirePermission(caller.principal, "roles.read");
    return this.deps.roles.list({ pageSize: pageSize(query.pageSize), pageToken: query.pageToken });
  }

  update(caller: Actor, id: string, changes: RoleChanges): Promise<Role> {
    return this.deps.audit.track(
      { action: "roles.update", actor: caller, targetKind: "role", targetId: id },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        const existing = await this.deps.roles.get(id);
        if (existing === undefined) throw notFound();
        if (existing.builtIn && changes.name !== undefined && changes.name !== existing.name) {
          throw new DomainError("failed_precondition", "built_in_role", "built-in roles keep their name");
        }
        if (changes.permissions !== undefined) {
          if (existing.name === ADMIN_ROLE) {
            throw new DomainError(
              "failed_precondition",
              "built_in_role",
              "the admin role always holds every permission",
            );
          }
          // Every sign-up gets the user role: what it held, anyone could open an account to get.
          if (existing.name === USER_ROLE) {
            throw new DomainError(
              "failed_precondition",
              "built_in_role",
              "the user role, which every sign-up receives, holds no permissions",
            );
          }
          checkPermissions(changes.permissions);
          const added = changes.permissions.filter(
            (permission) => !existing.permissions.includes(permission),
          );
          await this.deps.access.requireHoldsAll(caller.principal, added);
        }
        const role = await this.deps.roles.update(id, changes);
        if (role === undefined) throw notFound();
        // Role names appear on users (VerifyToken, GetMe).
        if (role.name !== existing.name) await this.deps.changes.everySubjectChanged();
        return role;
      },
    );
  }

  delete(caller: Actor, id: string): Promise<void> {
    return this.deps.audit.track(
      { action: "roles.delete", actor: caller, targetKind: "role", targetId: id },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        const existing = await this.deps.roles.get(id);
        if (existing === undefined) return;
        if (existing.builtIn) {
          throw new DomainError("failed_precondition", "built_in_role", "built-in roles cannot be deleted");
        }
        await this.deps.roles.delete(id);
        await this.deps.changes.everySubjectChanged();
      },
    );
  }

  async listPermissions(caller: Actor): Promise<ReadonlyArray<{ name: string; description: string }>> {
    await this.deps.access.requirePermission(caller.principal, "roles.read");
    return PERMISSIONS;
  }
}
