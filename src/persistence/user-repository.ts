import { DomainError } from "../domain/errors.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import { ADMIN_ROLE } from "../domain/roles/permissions.ts";
import type { Link, User, UserStatus } from "../domain/users/user.ts";
import {
  type KeepAnAdmin,
  lastAdminError,
  type NewUser,
  type UserChanges,
  type UserQuery,
  type UserRepository,
} from "../domain/users/user-repository.ts";
import { containsPattern, decodeTimeIdCursor } from "./keyset.ts";
import { isUuid, type Sql, type SqlRunner } from "./sql.ts";
import { isUniqueViolation, violatedConstraint } from "./sql-errors.ts";

/** A user as USER_JSON spells it, in this order: timestamps in epoch milliseconds, the cursor key in PostgreSQL's text form. */
type Row = [
  id: string,
  username: string,
  email: string,
  emailVerified: boolean,
  firstName: string,
  middleName: string,
  lastName: string,
  phone: string,
  telegram: string,
  organization: string,
  department: string,
  title: string,
  links: Link[],
  status: "active" | "disabled",
  mfaEnabled: boolean,
  totpEnabled: boolean,
  externalId: string | null,
  createdMs: number,
  updatedMs: number,
  lastLoginMs: number | null,
  lockedUntilMs: number | null,
  keycloakSyncedMs: number | null,
  createdKey: string,
  roles: string[],
  businessRoleIds: string[],
];

/** Epoch milliseconds, truncated as a Date made from the timestamp would be. */
const epochMs = (column: string) => `trunc(extract(epoch from ${column}) * 1000)`;

/**
 * A user (alias `u`) as one JSON array (see Row). The driver turns each column
 * of a row into a string and then a value (a regular expression per
 * timestamp): for a 50-user page that was most of ListUsers' CPU. One JSON
 * text per user, or per page (list), is one JSON.parse; an array rather than
 * an object keeps the names out of the text (half its size).
 */
const USER_JSON = `json_build_array(
    u.id, u.username, u.email, u.email_verified, u.first_name, u.middle_name, u.last_name, u.phone,
    u.telegram, u.organization, u.department, u.title, u.links, u.status,
    (u.mfa_enabled OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)), u.mfa_enabled, u.external_id,
    ${epochMs("u.created_at")}, ${epochMs("u.updated_at")}, ${epochMs("u.last_login_at")}, ${epochMs("u.locked_until")},
    ${epochMs("u.keycloak_synced_at")}, u.created_at::text,
    ARRAY(SELECT r.name::text FROM user_roles ur JOIN roles r ON r.id = ur.role_id
          WHERE ur.user_id = u.id ORDER BY r.name),
    ARRAY(SELECT ubr.business_role_id::text FROM user_business_roles ubr
          WHERE ubr.user_id = u.id ORDER BY ubr.business_role_id))`;

const SELECT_USER = `SELECT ${USER_JSON}::text AS user_json FROM users u`;

/** Profile fields: domain name → column. */
const PROFILE_COLUMNS = {
  firstName: "first_name",
  middleName: "middle_name",
  lastName: "last_name",
  phone: "phone",
  telegram: "telegram",
  organization: "organization",
  department: "department",
  title: "title",
} as const;

function toUser(row: Row, now: number): User {
  const [
    id,
    username,
    email,
    emailVerified,
    firstName,
    middleName,
    lastName,
    phone,
    telegram,
    organization,
    department,
    title,
    links,
    storedStatus,
    mfaEnabled,
    totpEnabled,
    externalId,
    createdMs,
    updatedMs,
    lastLoginMs,
    lockedUntilMs,
    keycloakSyncedMs,
    ,
    roles,
    businessRoleIds,
  ] = row;
  const lockedUntil = lockedUntilMs === null ? undefined : new Date(lockedUntilMs);
  let status: UserStatus = storedStatus;
  if (status === "active" && lockedUntil !== undefined && lockedUntil.getTime() > now) status = "locked";
  return {
    id,
    username,
    email,
    emailVerified,
    firstName,
    middleName,
    lastName,
    phone,
    telegram,
    organization,
    department,
    title,
    links,
    status,
    mfaEnabled,
    totpEnabled,
    roles,
    businessRoleIds,
    externalId: externalId ?? "",
    createdAt: new Date(createdMs),
    updatedAt: new Date(updatedMs),
    lastLoginAt: lastLoginMs === null ? undefined : new Date(lastLoginMs),
    lockedUntil: status === "locked" ? lockedUntil : undefined,
    ...(keycloakSyncedMs === null ? {} : { keycloakSyncedAt: new Date(keycloakSyncedMs) }),
  };
}

function alreadyExists(error: unknown): DomainError {
  const constraint = violatedConstraint(error);
  const field = constraint.includes("email")
    ? "email"
    : constraint.includes("external")
      ? "external_id"
      : "username";
  return new DomainError("already_exists", "user_exists", `a user with this ${field} already exists`, {
    metadata: { field },
    cause: error,
  });
}

const roleNotFound = (names: readonly string[]) =>
  new DomainError("not_found", "role_not_found", `no such role: ${names.join(", ")}`, {
    metadata: { role: names[0] ?? "" },
  });

/**
 * Replacing a user's role set is DELETE then INSERT: two requests doing it at once (on any
 * replicas) would collide on the primary key, so they take turns on the user's row.
 */
async function lockUser(tx: SqlRunner, userId: string): Promise<void> {
  await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [userId]);
}

/** Any constant: the transaction-scoped advisory lock every guarded write takes (see KeepAnAdmin). */
const ADMIN_GUARD_LOCK = 0x6761_7465;

async function activeAdmins(tx: SqlRunner): Promise<number> {
  const rows = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM users u
     JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
     WHERE r.name = $1 AND u.status = 'active'`,
    [ADMIN_ROLE],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Runs `write` in `tx`; with the guard, under the lock every guarded write
 * takes, and refused (rolled back) when it leaves no active administrator
 * where there was one. The lock comes before any row lock, and unguarded
 * writes never take it, so waiting on it cannot close a cycle.
 */
async function keepingAnAdmin<T>(
  tx: SqlRunner,
  guard: KeepAnAdmin | undefined,
  write: () => Promise<T>,
): Promise<T> {
  if (guard?.keepAnActiveAdmin !== true) return write();
  await tx.query(`SELECT pg_advisory_xact_lock($1)`, [ADMIN_GUARD_LOCK]);
  const before = await activeAdmins(tx);
  const result = await write();
  if (before > 0 && (await activeAdmins(tx)) === 0) throw lastAdminError();
  return result;
}

export class SqlUserRepository implements UserRepository {
  private readonly sql: Sql;
  private readonly now: () => number;

  constructor(sql: Sql, now: () => number = Date.now) {
    this.sql = sql;
    this.now = now;
  }

  private async one(runner: SqlRunner, where: string, params: unknown[]): Promise<User | undefined> {
    const rows = await runner.query<{ user_json: string }>(`${SELECT_USER} WHERE ${where}`, params, {
      prepared: true,
    });
    return rows[0] === undefined ? undefined : toUser(JSON.parse(rows[0].user_json) as Row, this.now());
  }

  getUser(id: string): Promise<User | undefined> {
    if (!isUuid(id)) return Promise.resolve(undefined);
    return this.one(this.sql, "u.id = $1", [id]);
  }

  findByLogin(login: string): Promise<User | undefined> {
    // A username may contain "@"; no username may equal another account's email (see
    // rejectCrossClash), and an address-shaped login prefers the email match anyway.
    const lower = login.toLowerCase();
    return this.one(
      this.sql,
      "lower(u.username) = $1 OR lower(u.email) = $1 ORDER BY (lower(u.email) = $1) DESC LIMIT 1",
      [lower],
    );
  }

  /**
   * Sign-in accepts a username or an email, so a username must not be some
   * other account's email (nor an email some other account's username):
   * otherwise one account could shadow another's sign-in.
   */
  private async rejectCrossClash(
    runner: SqlRunner,
    id: string,
    username: string | undefined,
    email: string | undefined,
  ): Promise<void> {
    if (username === undefined && email === undefined) return;
    const rows = await runner.query<{ field: string }>(
      `SELECT CASE WHEN lower(email) = $2 THEN 'username' ELSE 'email' END AS field FROM users
       WHERE id <> $1 AND (lower(email) = $2 OR lower(username) = $3) LIMIT 1`,
      [id, username?.toLowerCase() ?? null, email?.toLowerCase() ?? null],
    );
    const field = rows[0]?.field;
    if (field !== undefined) {
      throw new DomainError("already_exists", "user_exists", `a user with this ${field} already exists`, {
        metadata: { field },
      });
    }
  }

  findByEmail(email: string): Promise<User | undefined> {
    return this.one(this.sql, "lower(u.email) = $1", [email.toLowerCase()]);
  }

  async create(user: NewUser): Promise<User> {
    try {
      return await this.sql.transaction(async (tx) => {
        await this.rejectCrossClash(tx, user.id, user.username, user.email);
        const profile = user.profile;
        await tx.query(
          `INSERT INTO users (id, username, email, email_verified, first_name, middle_name, last_name, phone,
             telegram, organization, department, title, links, external_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14)`,
          [
            user.id,
            user.username,
            user.email,
            user.emailVerified,
            profile.firstName ?? "",
            profile.middleName ?? "",
            profile.lastName ?? "",
            profile.phone ?? "",
            profile.telegram ?? "",
            profile.organization ?? "",
            profile.department ?? "",
            profile.title ?? "",
            JSON.stringify(profile.links ?? []),
            user.externalId === undefined || user.externalId === "" ? null : user.externalId,
          ],
        );
        await this.replaceRoles(tx, user.id, user.roles);
        return (await this.one(tx, "u.id = $1", [user.id]))!;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  private async replaceRoles(tx: SqlRunner, userId: string, names: readonly string[]): Promise<void> {
    const unique = [...new Set(names)];
    const roles = await tx.query<{ id: string; name: string }>(
      `SELECT id, name FROM roles WHERE name = ANY($1::text[])`,
      [unique],
    );
    if (roles.length !== unique.length) {
      throw roleNotFound(unique.filter((name) => !roles.some((role) => role.name === name)));
    }
    await tx.query(`DELETE FROM user_roles WHERE user_id = $1`, [userId]);
    await tx.query(`INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::uuid[])`, [
      userId,
      roles.map((role) => role.id),
    ]);
  }

  async update(id: string, changes: UserChanges, guard?: KeepAnAdmin): Promise<User | undefined> {
    if (!isUuid(id)) return undefined;
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown, cast = "") => {
      params.push(value);
      sets.push(`${column} = $${params.length}${cast}`);
    };
    if (changes.username !== undefined) set("username", changes.username);
    if (changes.email !== undefined) set("email", changes.email);
    if (changes.emailVerified !== undefined) set("email_verified", changes.emailVerified);
    for (const [field, column] of Object.entries(PROFILE_COLUMNS)) {
      const value = changes[field as keyof typeof PROFILE_COLUMNS];
      if (value !== undefined) set(column, value);
    }
    if (changes.links !== undefined) set("links", JSON.stringify(changes.links), "::jsonb");
    if (changes.status !== undefined) {
      set("status", changes.status);
      // Re-activation lifts a lockout too.
      if (changes.status === "active") sets.push("locked_until = NULL", "failed_login_count = 0");
    }
    try {
      if (sets.length > 0) {
        const updated = await this.sql.transaction((tx) =>
          keepingAnAdmin(tx, guard, async () => {
            await this.rejectCrossClash(tx, id, changes.username, changes.email);
            return tx.query(
              `UPDATE users SET ${sets.join(", ")}, updated_at = clock_timestamp() WHERE id = $1 RETURNING id`,
              params,
            );
          }),
        );
        if (updated.length === 0) return undefined;
      }
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
    return this.getUser(id);
  }

  async delete(id: string, guard?: KeepAnAdmin): Promise<boolean> {
    if (!isUuid(id)) return false;
    const deleted = await this.sql.transaction((tx) =>
      keepingAnAdmin(tx, guard, () => tx.query(`DELETE FROM users WHERE id = $1 RETURNING id`, [id])),
    );
    return deleted.length > 0;
  }

  async list(query: UserQuery): Promise<Page<User>> {
    const businessRoleId = query.businessRoleId ?? "";
    const serviceId = query.serviceId ?? "";
    // No business role or service has an id that is not a UUID (and casting one would fail).
    if ((businessRoleId !== "" && !isUuid(businessRoleId)) || (serviceId !== "" && !isUuid(serviceId))) {
      return { items: [], nextPageToken: "" };
    }
    const after = decodeTimeIdCursor(query.pageToken);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (after !== undefined) {
      where.push(`(u.created_at, u.id) > (${param(after.time)}::timestamptz, ${param(after.id)}::uuid)`);
    }
    if (query.query !== "") {
      const pattern = param(containsPattern(query.query));
      where.push(
        `(u.username ILIKE ${pattern} OR u.email ILIKE ${pattern} OR u.first_name ILIKE ${pattern} OR u.last_name ILIKE ${pattern})`,
      );
    }
    if (query.status === "disabled") where.push(`u.status = 'disabled'`);
    if (query.status === "active") {
      where.push(`u.status = 'active' AND (u.locked_until IS NULL OR u.locked_until <= clock_timestamp())`);
    }
    if (query.status === "locked") where.push(`u.status = 'active' AND u.locked_until > clock_timestamp()`);
    if (query.role !== "") {
      where.push(
        `EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id AND r.name = ${param(query.role)})`,
      );
    }
    if (businessRoleId !== "") {
      where.push(
        `u.id IN (SELECT ubr.user_id FROM user_business_roles ubr WHERE ubr.business_role_id = ${param(businessRoleId)}::uuid)`,
      );
    }
    if (serviceId !== "") {
      const service = param(serviceId);
      where.push(
        `u.id IN (SELECT g.user_id FROM user_service_grants g WHERE g.service_id = ${service}::uuid
                  UNION SELECT ubr.user_id FROM business_role_grants brg
                    JOIN user_business_roles ubr ON ubr.business_role_id = brg.business_role_id
                  WHERE brg.service_id = ${service}::uuid)`,
      );
    }
    // One row, one JSON array of the page in order (see USER_JSON).
    const rows = await this.sql.query<{ users: string }>(
      `SELECT coalesce(json_agg(page.user_json ORDER BY page.created_at, page.id), '[]')::text AS users
       FROM (SELECT u.created_at, u.id, ${USER_JSON} AS user_json FROM users u
             ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
             ORDER BY u.created_at, u.id LIMIT ${param(query.pageSize + 1)}) page`,
      params,
      // One text per combination of filters (at most 128).
      { prepared: true },
    );
    const now = this.now();
    const page = toPage(JSON.parse(rows[0]!.users) as Row[], query.pageSize, (row) => [
      row[22], // createdKey
      row[0], // id
    ]);
    return { items: page.items.map((row) => toUser(row, now)), nextPageToken: page.nextPageToken };
  }

  async setRoles(userId: string, roleNames: readonly string[], guard?: KeepAnAdmin): Promise<void> {
    await this.sql.transaction((tx) =>
      keepingAnAdmin(tx, guard, async () => {
        await lockUser(tx, userId);
        await this.replaceRoles(tx, userId, roleNames);
      }),
    );
  }

  async setBusinessRoles(userId: string, businessRoleIds: readonly string[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await lockUser(tx, userId);
      await tx.query(`DELETE FROM user_business_roles WHERE user_id = $1`, [userId]);
      await tx.query(
        `INSERT INTO user_business_roles (user_id, business_role_id) SELECT $1, unnest($2::uuid[])`,
        [userId, [...new Set(businessRoleIds)]],
      );
    });
  }

  async recordFailedSignIn(
    userId: string,
    policy: { threshold: number; lockSeconds: number },
  ): Promise<{ lockedUntil: Date | undefined }> {
    // One statement: concurrent failures on several replicas each count once.
    const rows = await this.sql.query<{ failed_login_count: number; locked_until: Date | null }>(
      `UPDATE users SET
         failed_login_count = CASE WHEN failed_login_count + 1 >= $2 THEN 0 ELSE failed_login_count + 1 END,
         locked_until = CASE WHEN failed_login_count + 1 >= $2
           THEN clock_timestamp() + make_interval(secs => $3::double precision) ELSE locked_until END
       WHERE id = $1 RETURNING failed_login_count, locked_until`,
      [userId, policy.threshold, policy.lockSeconds],
    );
    const row = rows[0];
    // The count restarts only when this failure locked the account.
    return {
      lockedUntil:
        row !== undefined && row.failed_login_count === 0 && row.locked_until !== null
          ? new Date(row.locked_until)
          : undefined,
    };
  }

  async recordSignIn(userId: string): Promise<void> {
    await this.sql.query(
      `UPDATE users SET failed_login_count = 0, last_login_at = clock_timestamp() WHERE id = $1`,
      [userId],
    );
  }

  async clearLockout(userId: string): Promise<void> {
    await this.sql.query(`UPDATE users SET failed_login_count = 0, locked_until = NULL WHERE id = $1`, [
      userId,
    ]);
  }
}
