import { DomainError } from "../errors.ts";
import type { Page } from "../pagination.ts";
import type { Link, ProfileChanges, User, UserStatus } from "./user.ts";

export interface NewUser {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly profile: ProfileChanges;
  readonly externalId?: string;
  /** RBAC role names; each must exist. */
  readonly roles: readonly string[];
}

export interface UserChanges extends ProfileChanges {
  readonly username?: string;
  readonly email?: string;
  readonly emailVerified?: boolean;
  /** Re-activating also lifts a lockout. */
  readonly status?: "active" | "disabled";
  readonly links?: readonly Link[];
}

export interface UserQuery {
  readonly pageSize: number;
  readonly pageToken: string;
  /** Case-insensitive substring of username, email, first or last name. */
  readonly query: string;
  readonly status: UserStatus | undefined;
  /** Only holders of this RBAC role. */
  readonly role: string;
  /** Only holders of this business role (its id); any when empty or absent. */
  readonly businessRoleId?: string;
  /** Only users with a grant on this service (its id), direct or through a business role; any when empty or absent. */
  readonly serviceId?: string;
}

/**
 * Asks a write that can take an active administrator away (disabling,
 * deleting, removing the admin role) to refuse it when it would leave none:
 * the count and the write happen in one transaction, under a lock every such
 * guarded write takes, so two administrators demoting each other at once
 * cannot both succeed. Refused with lastAdminError().
 */
export interface KeepAnAdmin {
  readonly keepAnActiveAdmin: boolean;
}

/** Someone must stay able to administer Gatehouse. */
export const lastAdminError = (): DomainError =>
  new DomainError(
    "failed_precondition",
    "last_admin",
    "this is the last active administrator; make someone else an administrator first",
  );

/** Storage of users, their RBAC roles and business roles (the users, user_roles, user_business_roles tables). */
export interface UserRepository {
  getUser(id: string): Promise<User | undefined>;
  /** By username or email, case-insensitively. */
  findByLogin(login: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  /** Throws DomainError already_exists (username or email taken), not_found (an unknown role). */
  create(user: NewUser): Promise<User>;
  /** Undefined when the user does not exist. Throws already_exists on a username or email clash. */
  update(id: string, changes: UserChanges, guard?: KeepAnAdmin): Promise<User | undefined>;
  /** Removes the record; true when it existed. */
  delete(id: string, guard?: KeepAnAdmin): Promise<boolean>;
  list(query: UserQuery): Promise<Page<User>>;
  /** Replaces the user's RBAC roles (by name; all must exist). */
  setRoles(userId: string, roleNames: readonly string[], guard?: KeepAnAdmin): Promise<void>;
  /** Replaces the user's business roles (all must exist). */
  setBusinessRoles(userId: string, businessRoleIds: readonly string[]): Promise<void>;
  /**
   * Counts a failed sign-in; on reaching `threshold` the account locks for
   * `lockSeconds` and the count restarts. Atomic across replicas.
   */
  recordFailedSignIn(
    userId: string,
    policy: { readonly threshold: number; readonly lockSeconds: number },
  ): Promise<{ readonly lockedUntil: Date | undefined }>;
  /** Clears the failure count and stamps last_login_at. */
  recordSignIn(userId: string): Promise<void>;
  /** Lifts a lockout and clears the failure count (a password reset), leaving the status alone. */
  clearLockout(userId: string): Promise<void>;
}

/** Single-use, expiring tokens mailed to users (password reset, email verification); stored hashed. */
export interface UserTokenRepository {
  /** Stores a new token and voids the user's earlier unused tokens of the same purpose. */
  issue(userId: string, purpose: UserTokenPurpose, tokenHash: string, expiresAt: Date): Promise<void>;
  /** The user of an unused, unexpired token, without using it up. */
  find(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined>;
  /** Marks the token used if it is unused and unexpired; returns its user id, or undefined. Atomic. */
  consume(purpose: UserTokenPurpose, tokenHash: string): Promise<string | undefined>;
  /** Voids every unused token of the user for this purpose (a password change voids reset links). */
  voidAll(userId: string, purpose: UserTokenPurpose): Promise<void>;
}

export type UserTokenPurpose = "password_reset" | "email_verification";
