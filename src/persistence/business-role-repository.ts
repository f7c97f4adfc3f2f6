import { DomainError } from "../domain/errors.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import type { BusinessRole, ServiceGrant } from "../domain/roles/role.ts";
import type {
  BusinessRoleChanges,
  BusinessRoleRepository,
  ServiceRoleCatalog,
} from "../domain/roles/role-repository.ts";
import { decodeNameCursor } from "./keyset.ts";
import { isUuid, type Sql, type SqlRunner } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

interface Row {
  id: string;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
  sort_key: string;
  grants: Array<{ service_id: string; role: string }>;
}

const SELECT_BUSINESS_ROLE = `
  SELECT b.id, b.name, b.description, b.created_at, b.updated_at, lower(b.name) AS sort_key,
    COALESCE((SELECT json_agg(json_build_object('service_id', g.service_id, 'role', g.role)
                              ORDER BY g.service_id, g.role)
              FROM business_role_grants g WHERE g.business_role_id = b.id), '[]'::json) AS grants
  FROM business_roles b`;

const toBusinessRole = (row: Row): BusinessRole => ({
  id: row.id,
  name: row.name,
  description: row.description,
  grants: row.grants.map((grant) => ({ serviceId: grant.service_id, role: grant.role })),
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
});

const alreadyExists = (error: unknown) =>
  new DomainError("already_exists", "business_role_exists", "a business role with this name already exists", {
    cause: error,
  });

async function replaceGrants(tx: SqlRunner, id: string, grants: readonly ServiceGrant[]): Promise<void> {
  await tx.query(`DELETE FROM business_role_grants WHERE business_role_id = $1`, [id]);
  await tx.query(
    `INSERT INTO business_role_grants (business_role_id, service_id, role)
     SELECT $1, g.service_id, g.role FROM unnest($2::uuid[], $3::text[]) AS g (service_id, role)
     ON CONFLICT DO NOTHING`,
    [id, grants.map((grant) => grant.serviceId), grants.map((grant) => grant.role)],
  );
}

export class SqlBusinessRoleRepository implements BusinessRoleRepository, ServiceRoleCatalog {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  private async byId(runner: SqlRunner, id: string): Promise<BusinessRole | undefined> {
    const rows = await runner.query<Row>(`${SELECT_BUSINESS_ROLE} WHERE b.id = $1`, [id]);
    return rows[0] === undefined ? undefined : toBusinessRole(rows[0]);
  }

  async create(role: {
    name: string;
    description: string;
    grants: readonly ServiceGrant[];
  }): Promise<BusinessRole> {
    try {
      return await this.sql.transaction(async (tx) => {
        const rows = await tx.query<{ id: string }>(
          `INSERT INTO business_roles (name, description) VALUES ($1, $2) RETURNING id`,
          [role.name, role.description],
        );
        await replaceGrants(tx, rows[0]!.id, role.grants);
        return (await this.byId(tx, rows[0]!.id))!;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  get(id: string): Promise<BusinessRole | undefined> {
    return isUuid(id) ? this.byId(this.sql, id) : Promise.resolve(undefined);
  }

  async existing(ids: readonly string[]): Promise<string[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.sql.query<{ id: string }>(
      `SELECT id FROM business_roles WHERE id = ANY($1::uuid[])`,
      [valid],
    );
    return rows.map((row) => row.id);
  }

  async findByNames(names: readonly string[]): Promise<BusinessRole[]> {
    if (names.length === 0) return [];
    const rows = await this.sql.query<Row>(`${SELECT_BUSINESS_ROLE} WHERE lower(b.name) = ANY($1::text[])`, [
      names.map((name) => name.toLowerCase()),
    ]);
    return rows.map(toBusinessRole);
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<BusinessRole>> {
    const after = decodeNameCursor(query.pageToken);
    const rows = await this.sql.query<Row>(
      `${SELECT_BUSINESS_ROLE} WHERE ($1::text IS NULL OR lower(b.name) > $1::text)
       ORDER BY lower(b.name) LIMIT $2`,
      [after ?? null, query.pageSize + 1],
    );
    const page = toPage(rows, query.pageSize, (row) => [row.sort_key]);
    return { items: page.items.map(toBusinessRole), nextPageToken: page.nextPageToken };
  }

  async update(id: string, changes: BusinessRoleChanges): Promise<BusinessRole | undefined> {
    if (!isUuid(id)) return undefined;
    try {
      return await this.sql.transaction(async (tx) => {
        const rows = await tx.query(
          `UPDATE business_roles SET name = COALESCE($2, name), description = COALESCE($3, description),
             updated_at = clock_timestamp()
           WHERE id = $1 RETURNING id`,
          [id, changes.name ?? null, changes.description ?? null],
        );
        if (rows.length === 0) return undefined;
        if (changes.grants !== undefined) await replaceGrants(tx, id, changes.grants);
        return this.byId(tx, id);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.query(`DELETE FROM business_roles WHERE id = $1 RETURNING id`, [id])).length > 0;
  }

  async rolesOf(serviceIds: readonly string[]): Promise<Map<string, readonly string[]>> {
    const valid = serviceIds.filter(isUuid);
    if (valid.length === 0) return new Map();
    const rows = await this.sql.query<{ id: string; roles: string[] }>(
      `SELECT id, roles FROM services WHERE id = ANY($1::uuid[])`,
      [valid],
    );
    return new Map(rows.map((row) => [row.id, row.roles]));
  }
}
