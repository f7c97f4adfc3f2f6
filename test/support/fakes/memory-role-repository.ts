import { randomUUID } from "node:crypto";
import { DomainError } from "../../../src/domain/errors.ts";
import type { Page } from "../../../src/domain/pagination.ts";
import { ADMIN_ROLE, PERMISSION_NAMES, USER_ROLE } from "../../../src/domain/roles/permissions.ts";
import type { Role } from "../../../src/domain/roles/role.ts";
import type { RoleChanges, RoleRepository } from "../../../src/domain/roles/role-repository.ts";

/**
 * The roles table in memory, seeded like the migration: the built-in admin
 * role (the whole catalogue) and user role (nothing). Whose roles are whose
 * is asked of `rolesOfUser` (the user repository keeps them).
 */
export class MemoryRoleRepository implements RoleRepository {
  readonly roles = new Map<string, Role>();
  rolesOfUser: (userId: string) => readonly string[] = () => [];

  constructor() {
    this.seed(ADMIN_ROLE, [...PERMISSION_NAMES].sort(), true);
    this.seed(USER_ROLE, [], true);
  }

  private seed(name: string, permissions: readonly string[], builtIn: boolean): Role {
    const now = new Date();
    const role = {
      id: randomUUID(),
      name,
      description: "",
      permissions,
      builtIn,
      createdAt: now,
      updatedAt: now,
    };
    this.roles.set(role.id, role);
    return role;
  }

  byName(name: string): Role | undefined {
    return [...this.roles.values()].find((role) => role.name === name);
  }

  async create(role: { name: string; description: string; permissions: readonly string[] }): Promise<Role> {
    if (this.byName(role.name) !== undefined) {
      throw new DomainError("already_exists", "role_exists", "a role with this name already exists");
    }
    const created = this.seed(role.name, [...new Set(role.permissions)].sort(), false);
    const withDescription = { ...created, description: role.description };
    this.roles.set(created.id, withDescription);
    return withDescription;
  }

  async get(id: string): Promise<Role | undefined> {
    return this.roles.get(id);
  }

  async findByNames(names: readonly string[]): Promise<Role[]> {
    return [...this.roles.values()].filter((role) => names.includes(role.name));
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<Role>> {
    const sorted = [...this.roles.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { items: sorted.slice(0, query.pageSize), nextPageToken: "" };
  }

  async update(id: string, changes: RoleChanges): Promise<Role | undefined> {
    const role = this.roles.get(id);
    if (role === undefined) return undefined;
    if (changes.name !== undefined && changes.name !== role.name && this.byName(changes.name) !== undefined) {
      throw new DomainError("already_exists", "role_exists", "a role with this name already exists");
    }
    const updated: Role = {
      ...role,
      name: changes.name ?? role.name,
      description: changes.description ?? role.description,
      permissions:
        changes.permissions === undefined ? role.permissions : [...new Set(changes.permissions)].sort(),
      updatedAt: new Date(),
    };
    this.roles.set(id, updated);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    return this.roles.delete(id);
  }

  async permissionsOfUser(userId: string): Promise<Set<string>> {
    const names = this.rolesOfUser(userId);
    return new Set(
      [...this.roles.values()]
        .filter((role) => names.includes(role.name))
        .flatMap((role) => role.permissions),
    );
  }

  async syncBuiltInPermissions(name: string, permissions: readonly string[]): Promise<void> {
    const role = this.byName(name);
    if (role?.builtIn) this.roles.set(role.id, { ...role, permissions: [...permissions].sort() });
  }
}
