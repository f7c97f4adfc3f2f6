import { DomainError } from "../../../src/domain/errors.ts";
import type { Page } from "../../../src/domain/pagination.ts";
import { ADMIN_ROLE } from "../../../src/domain/roles/permissions.ts";
import type { User } from "../../../src/domain/users/user.ts";
import {
  type KeepAnAdmin,
  lastAdminError,
  type NewUser,
  type UserChanges,
  type UserQuery,
  type UserRepository,
} from "../../../src/domain/users/user-repository.ts";

type Row = { -readonly [K in keyof User]: User[K] } & {
  status: "active" | "disabled";
  failedSignIns: number;
};

/**
 * The users tables in memory. Each call runs to completion without yielding
 * between its check and its write, which is what the SQL adapter's
 * transactions give (KeepAnAdmin included).
 */
export class MemoryUserRepository implements UserRepository {
  readonly rows = new Map<string, Row>();
  roleExists: (name: string) => boolean = () => true;
  now: () => number = Date.now;

  private view(row: Row): User {
    const { failedSignIns: _failed, ...user } = row;
    const locked =
      row.status === "active" && row.lockedUntil !== undefined && row.lockedUntil.getTime() > this.now();
    return {
      ...user,
      roles: [...row.roles].sort(),
      status: locked ? "locked" : row.status,
      lockedUntil: locked ? row.lockedUntil : undefined,
    };
  }

  private activeAdmins(): number {
    return [...this.rows.values()].filter((row) => row.status === "active" && row.roles.includes(ADMIN_ROLE))
      .length;
  }

  /** Runs `write`; with the guard, undoes it and refuses when it left no active administrator where one was. */
  private keepingAnAdmin<T>(guard: KeepAnAdmin | undefined, write: () => T): T {
    if (guard?.keepAnActiveAdmin !== true) return write();
    const before = this.activeAdmins();
    const snapshot = new Map([...this.rows].map(([id, row]) => [id, { ...row }]));
    const result = write();
    if (before > 0 && this.activeAdmins() === 0) {
      this.rows.clear();
      for (const [id, row] of snapshot) this.rows.set(id, row);
      throw lastAdminError();
    }
    return result;
  }

  private clash(id: string, username: string | undefined, email: string | undefined): void {
    for (const row of this.rows.values()) {
      if (row.id === id) continue;
      const names = [row.username.toLowerCase(), row.email.toLowerCase()];
      const field =
        username !== undefined && names.includes(username.toLowerCase())
          ? "username"
          : email !== undefined && names.includes(email.toLowerCase())
            ? "email"
            : undefined;
      if (field !== undefined) {
        throw new DomainError("already_exists", "user_exists", `a user with this ${field} already exists`, {
          metadata: { field },
        });
      }
    }
  }

  private requireRoles(names: readonly string[]): void {
    const missing = names.filter((name) => !this.roleExists(name));
    if (missing.length > 0) {
      throw new DomainError("not_found", "role_not_found", `no such role: ${missing.join(", ")}`);
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const row = this.rows.get(id);
    return row === undefined ? undefined : this.view(row);
  }

  async findByLogin(login: string): Promise<User | undefined> {
    const lower = login.toLowerCase();
    const rows = [...this.rows.values()];
    const row =
      rows.find((candidate) => candidate.email.toLowerCase() === lower) ??
      rows.find((candidate) => candidate.username.toLowerCase() === lower);
    return row === undefined ? undefined : this.view(row);
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = [...this.rows.values()].find(
      (candidate) => candidate.email.toLowerCase() === email.toLowerCase(),
    );
    return row === undefined ? undefined : this.view(row);
  }

  async create(user: NewUser): Promise<User> {
    this.clash(user.id, user.username, user.email);
    this.requireRoles(user.roles);
    const now = new Date(this.now());
    const row: Row = {
      id: user.id,
      username: user.username,
      email: user.email,
      emailVerified: user.emailVerified,
      firstName: user.profile.firstName ?? "",
      middleName: user.profile.middleName ?? "",
      lastName: user.profile.lastName ?? "",
      phone: user.profile.phone ?? "",
      telegram: user.profile.telegram ?? "",
      organization: user.profile.organization ?? "",
      department: user.profile.department ?? "",
      title: user.profile.title ?? "",
      links: user.profile.links ?? [],
      status: "active",
      mfaEnabled: false,
      totpEnabled: false,
      roles: [...new Set(user.roles)],
      businessRoleIds: [],
      externalId: user.externalId ?? "",
      createdAt: now,
      updatedAt: now,
      lastLoginAt: undefined,
      lockedUntil: undefined,
      failedSignIns: 0,
    };
    this.rows.set(row.id, row);
    return this.view(row);
  }

  async update(id: string, changes: UserChanges, guard?: KeepAnAdmin): Promise<User | undefined> {
    const row = this.rows.get(id);
    if (row === undefined) return undefined;
    this.clash(id, changes.username, changes.email);
    this.keepingAnAdmin(guard, () => {
      const { status, ...fields } = changes;
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) Object.assign(row, { [key]: value });
      }
      if (status !== undefined) {
        row.status = status;
        // Re-activation lifts a lockout too.
        if (status === "active") {
          row.lockedUntil = undefined;
          row.failedSignIns = 0;
        }
      }
      row.updatedAt = new Date(this.now());
    });
    return this.view(this.rows.get(id)!);
  }

  async delete(id: string, guard?: KeepAnAdmin): Promise<boolean> {
    return this.keepingAnAdmin(guard, () => this.rows.delete(id));
  }

  async list(query: UserQuery): Promise<Page<User>> {
    const needle = query.query.toLowerCase();
    const items = [...this.rows.values()]
      .map((row) => this.view(row))
      .filter(
        (user) =>
          (needle === "" ||
            [user.username, user.email, user.firstName, user.lastName].some((value) =>
              value.toLowerCase().includes(needle),
            )) &&
          (query.status === undefined || user.status === query.status) &&
          (query.role === "" || user.roles.includes(query.role)),
      );
    return { items: items.slice(0, query.pageSize), nextPageToken: "" };
  }

  async setRoles(userId: string, roleNames: readonly string[], guard?: KeepAnAdmin): Promise<void> {
    this.requireRoles(roleNames);
    const row = this.rows.get(userId);
    if (row === undefined) return;
    this.keepingAnAdmin(guard, () => {
      this.rows.get(userId)!.roles = [...new Set(roleNames)];
    });
  }

  async setBusinessRoles(userId: string, businessRoleIds: readonly string[]): Promise<void> {
    const row = this.rows.get(userId);
    if (row !== undefined) row.businessRoleIds = [...new Set(businessRoleIds)].sort();
  }

  async clearLockout(userId: string): Promise<void> {
    const row = this.rows.get(userId);
    if (row === undefined) return;
    row.lockedUntil = undefined;
    row.failedSignIns = 0;
  }

  async recordFailedSignIn(
    userId: string,
    policy: { readonly threshold: number; readonly lockSeconds: number },
  ): Promise<{ readonly lockedUntil: Date | undefined }> {
    const row = this.rows.get(userId);
    if (row === undefined) return { lockedUntil: undefined };
    row.failedSignIns++;
    if (row.failedSignIns < policy.threshold) return { lockedUntil: undefined };
    row.failedSignIns = 0;
    row.lockedUntil = new Date(this.now() + policy.lockSeconds * 1000);
    return { lockedUntil: row.lockedUntil };
  }

  async recordSignIn(userId: string): Promise<void> {
    const row = this.rows.get(userId);
    if (row === undefined) return;
    row.failedSignIns = 0;
    row.lastLoginAt = new Date(this.now());
  }
}
