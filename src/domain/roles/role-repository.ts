import type { Page } from "../pagination.ts";
import type { BusinessRole, Role, ServiceGrant } from "./role.ts";

export interface RoleChanges {
  readonly name?: string;
  readonly description?: string;
  readonly permissions?: readonly string[];
}

/** The roles and role_permissions tables, and the permissions users hold through them. */
export interface RoleRepository {
  /** Throws already_exists. */
  create(role: { name: string; description: string; permissions: readonly string[] }): Promise<Role>;
  get(id: string): Promise<Role | undefined>;
  findByNames(names: readonly string[]): Promise<Role[]>;
  /** Ordered by name. */
  list(query: { pageSize: number; pageToken: string }): Promise<Page<Role>>;
  /** Undefined when the role does not exist. Throws already_exists on a name clash. */
  update(id: string, changes: RoleChanges): Promise<Role | undefined>;
  delete(id: string): Promise<boolean>;
  /** The union of the permissions of every role the user holds. */
  permissionsOfUser(userId: string): Promise<Set<string>>;
  /** Gives the named built-in role exactly these permissions (start-up: admin gets the whole catalogue). */
  syncBuiltInPermissions(name: string, permissions: readonly string[]): Promise<void>;
}

export interface BusinessRoleChanges {
  readonly name?: string;
  readonly description?: string;
  readonly grants?: readonly ServiceGrant[];
}

/** The business_roles, business_role_grants and user_business_roles tables. */
export interface BusinessRoleRepository {
  /** Throws already_exists. */
  create(role: { name: string; description: string; grants: readonly ServiceGrant[] }): Promise<BusinessRole>;
  get(id: string): Promise<BusinessRole | undefined>;
  /** Of `ids`, those that exist. */
  existing(ids: readonly string[]): Promise<string[]>;
  /** The business roles with these names (case-insensitively). */
  findByNames(names: readonly string[]): Promise<BusinessRole[]>;
  /** Ordered by name. */
  list(query: { pageSize: number; pageToken: string }): Promise<Page<BusinessRole>>;
  update(id: string, changes: BusinessRoleChanges): Promise<BusinessRole | undefined>;
  delete(id: string): Promise<boolean>;
}

/** What business roles need to know about registered services: the roles each defines. */
export interface ServiceRoleCatalog {
  /** Service id → its roles, for the ids that exist. */
  rolesOf(serviceIds: readonly string[]): Promise<Map<string, readonly string[]>>;
}
