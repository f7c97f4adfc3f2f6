import { randomUUID } from "node:crypto";
import { DomainError } from "../../../src/domain/errors.ts";
import type { Page } from "../../../src/domain/pagination.ts";
import type { BusinessRole, ServiceGrant } from "../../../src/domain/roles/role.ts";
import type {
  BusinessRoleChanges,
  BusinessRoleRepository,
} from "../../../src/domain/roles/role-repository.ts";

/** The business_roles tables in memory. Holders are kept on the users (MemoryUserRepository). */
export class MemoryBusinessRoleRepository implements BusinessRoleRepository {
  readonly roles = new Map<string, BusinessRole>();
  /** Called when a role is deleted, so that its holders lose it (ON DELETE CASCADE). */
  onDelete: (id: string) => void = () => {};

  async create(role: {
    name: string;
    description: string;
    grants: readonly ServiceGrant[];
  }): Promise<BusinessRole> {
    if ([...this.roles.values()].some((other) => other.name.toLowerCase() === role.name.toLowerCase())) {
      throw new DomainError(
        "already_exists",
        "business_role_exists",
        "a business role with this name exists",
      );
    }
    const now = new Date();
    const created = { id: randomUUID(), ...role, grants: [...role.grants], createdAt: now, updatedAt: now };
    this.roles.set(created.id, created);
    return created;
  }

  async get(id: string): Promise<BusinessRole | undefined> {
    return this.roles.get(id);
  }

  async existing(ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => this.roles.has(id));
  }

  async findByNames(names: readonly string[]): Promise<BusinessRole[]> {
    const wanted = new Set(names.map((name) => name.toLowerCase()));
    return [...this.roles.values()].filter((role) => wanted.has(role.name.toLowerCase()));
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<BusinessRole>> {
    const sorted = [...this.roles.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { items: sorted.slice(0, query.pageSize), nextPageToken: "" };
  }

  async update(id: string, changes: BusinessRoleChanges): Promise<BusinessRole | undefined> {
    const role = this.roles.get(id);
    if (role === undefined) return undefined;
    const updated: BusinessRole = {
      ...role,
      name: changes.name ?? role.name,
      description: changes.description ?? role.description,
      grants: changes.grants === undefined ? role.grants : [...changes.grants],
      updatedAt: new Date(),
    };
    this.roles.set(id, updated);
    return updated;
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.roles.delete(id);
    if (existed) this.onDelete(id);
    return existed;
  }
}
