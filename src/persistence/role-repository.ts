import { DomainError } from "../domain/errors.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import type { Role } from "../domain/roles/role.ts";
import type { RoleChanges, RoleRepository } from "../domain/roles/role-repository.ts";
import { decodeNameCursor } from "./keyset.ts";
import { isUuid, type Sql, type SqlRunner } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

interface Row {
  id: string;
  name: string;
  description: string;
  built_in: boolean;
  created_at: Date;
  updated_at: Date;
  permissions: string[];
}

const SELECT_ROLE = `
  SELECT r.id, r.name, r.description, r.built_in, r.created_at, r.updated_at,
    ARRAY(SELECT rp.permission::text FROM role_permissions rp WHERE rp.role_id = r.id ORDER BY rp.permission)
      AS permissions
  FROM roles r`;

const toRole = (row: Row): Role => ({
  id: row.id,
  name: row.name,
  description: row.description,
  permissions: row.permissions,
  builtIn: row.built_in,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const alreadyExists = (error: unknown) =>
  new DomainError("already_exists", "role_exists", "a role with this name already exists", { cause: error });

async function replacePermissions(
  tx: SqlRunner,
  roleId: string,
  permissions: readonly string[],
): Promise<void> {
  await tx.query(`DELETE FROM role_permissions WHERE role_id = $1`, [roleId]);
  await tx.query(`INSERT INTO role_permissions (role_id, permission) SELECT $1, unnest($2::text[])`, [
    roleId,
    [...new Set(permissions)],
  ]);
}

export class SqlRoleRepository implements RoleRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async create(role: { name: string; description: string; permissions: readonly string[] }): Promise<Role> {
    try {
      return await this.sql.transaction(async (tx) => {
        const rows = await tx.query<{ id: string }>(
          `INSERT INTO roles (name, description) VALUES ($1, $2) RETURNING id`,
          [role.name, role.description],
        );
        const id = rows[0]!.id;
        await replacePermissions(tx, id, role.permissions);
        return toRole((await tx.query<Row>(`${SELECT_ROLE} WHERE r.id = $1`, [id]))[0]!);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async get(id: string): Promise<Role | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(`${SELECT_ROLE} WHERE r.id = $1`, [id]);
    return rows[0] === undefined ? undefined : toRole(rows[0]);
  }

  async findByNames(names: readonly string[]): Promise<Role[]> {
    const rows = await this.sql.query<Row>(`${SELECT_ROLE} WHERE r.name = ANY($1::text[])`, [[...names]]);
    return rows.map(toRole);
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<Role>> {
    const after = decodeNameCursor(query.pageToken);
    const rows = await this.sql.query<Row>(
      `${SELECT_ROLE} WHERE ($1::text IS NULL OR r.name > $1::text) ORDER BY r.name LIMIT $2`,
      [after ?? null, query.pageSize + 1],
    );
    const page = toPage(rows, query.pageSize, (row) => [row.name]);
    return { items: page.items.map(toRole), nextPageToken: page.nextPageToken };
  }

  async update(id: string, changes: RoleChanges): Promise<Role | undefined> {
    if (!isUuid(id)) return undefined;
    try {
      return await this.sql.transaction(async (tx) => {
        const rows = await tx.query<{ id: string }>(
          `UPDATE roles SET name = COALESCE($2, name), description = COALESCE($3, description),
             updated_at = clock_timestamp()
           WHERE id = $1 RETURNING id`,
          [id, changes.name ?? null, changes.description ?? null],
        );
        if (rows.length === 0) return undefined;
        if (changes.permissions !== undefined) await replacePermissions(tx, id, changes.permissions);
        return toRole((await tx.query<Row>(`${SELECT_ROLE} WHERE r.id = $1`, [id]))[0]!);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.query(`DELETE FROM roles WHERE id = $1 RETURNING id`, [id])).length > 0;
  }

  async permissionsOfUser(userId: string): Promise<Set<string>> {
    if (!isUuid(userId)) return new Set();
    const rows = await this.sql.query<{ permission: string }>(
      `SELECT DISTINCT rp.permission FROM user_roles ur
       JOIN role_permissions rp ON rp.role_id = ur.role_id
       JOIN users u ON u.id = ur.user_id
       WHERE ur.user_id = $1 AND u.status = 'active'`,
      [userId],
      // Every administrative call asks it.
      { prepared: true },
    );
    return new Set(rows.map((row) => row.permission));
  }

  async syncBuiltInPermissions(name: string, permissions: readonly string[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Replicas starting together all run this: the row lock makes them take turns, where
      // two interleaved DELETE-then-INSERTs would collide on role_permissions' primary key.
      const rows = await tx.query<{ id: string }>(
        `SELECT id FROM roles WHERE name = $1 AND built_in FOR UPDATE`,
        [name],
      );
      if (rows[0] !== undefined) await replacePermissions(tx, rows[0].id, permissions);
    });
  }
}
