import { DomainError } from "../domain/errors.ts";
import { decodePageToken, type Page, toPage } from "../domain/pagination.ts";
import type { ServiceRecord, ServiceStatus } from "../domain/registry/service-record.ts";
import type { NewService, ServiceChanges, ServiceRepository } from "../domain/registry/service-repository.ts";
import type { Sql } from "./sql.ts";
import { isUniqueViolation, violatedConstraint } from "./sql-errors.ts";

interface Row {
  id: string;
  slug: string;
  display_name: string;
  description: string;
  audience: string;
  status: ServiceStatus;
  roles: string[];
  hosts: string[];
  created_at: Date;
  updated_at: Date;
  /** bigint: a string from node-postgres, a bigint from PGlite. */
  version: string | number | bigint;
}

const COLUMNS =
  "id, slug, display_name, description, audience, status, roles, hosts, created_at, updated_at, version";

/**
 * The next registry change number, in the statement that writes the service:
 * the counter's row lock orders concurrent writers by commit, and a write that
 * fails rolls its number back with it, so replicas see the numbers without holes.
 */
const NEXT_VERSION = "UPDATE service_directory_version SET version = version + 1 RETURNING version";
/** The same for a write on an existing service, locked first in a `target` CTE: no number for a missing one. */
const NEXT_VERSION_FOR_TARGET =
  "UPDATE service_directory_version SET version = version + 1 WHERE EXISTS (SELECT 1 FROM target) RETURNING version";

const toRecord = (row: Row): ServiceRecord => ({
  id: row.id,
  slug: row.slug,
  displayName: row.display_name,
  description: row.description,
  audience: row.audience,
  status: row.status,
  roles: row.roles,
  hosts: row.hosts,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  version: Number(row.version),
});

function alreadyExists(error: unknown): DomainError {
  const constraint = violatedConstraint(error);
  const field = constraint.includes("audience") ? "audience" : "slug";
  return new DomainError("already_exists", "service_exists", `a service with this ${field} already exists`, {
    metadata: { field },
    cause: error,
  });
}

/** Tables holding grants on services; a role used by any of them cannot be removed. */
const GRANT_TABLES = ["user_service_grants", "service_account_grants", "business_role_grants"];

/**
 * Rows per query of all(): the driver parses a result in one go, and 10,001
 * services in one result held the event loop for 80-120 ms, stalling every
 * decision of the replica reloading its directory. A page holds it ~5 ms.
 */
const ALL_PAGE_SIZE = 500;

export class SqlServiceRepository implements ServiceRepository {
  private readonly sql: Sql;
  private readonly allPageSize: number;

  constructor(sql: Sql, options: { allPageSize?: number } = {}) {
    this.sql = sql;
    this.allPageSize = options.allPageSize ?? ALL_PAGE_SIZE;
  }

  async create(service: NewService): Promise<ServiceRecord> {
    try {
      const rows = await this.sql.query<Row>(
        `WITH next AS (${NEXT_VERSION})
         INSERT INTO services (slug, display_name, description, audience, roles, hosts, version)
         SELECT $1, $2, $3, $4, $5, $6, next.version FROM next RETURNING ${COLUMNS}`,
        [
          service.slug,
          service.displayName,
          service.description,
          service.audience,
          service.roles,
          service.hosts,
        ],
      );
      return toRecord(rows[0]!);
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async findById(id: string): Promise<ServiceRecord | undefined> {
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM services WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async findBySlug(slug: string): Promise<ServiceRecord | undefined> {
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM services WHERE slug = $1`, [slug]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async list(query: {
    pageSize: number;
    pageToken: string;
    status?: ServiceStatus;
  }): Promise<Page<ServiceRecord>> {
    const after = decodePageToken(query.pageToken, 1);
    const params: unknown[] = [query.pageSize + 1];
    const where: string[] = [];
    if (after !== undefined) {
      params.push(after[0]);
      where.push(`slug > $${params.length}`);
    }
    if (query.status !== undefined) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM services ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY slug LIMIT $1`,
      params,
    );
    return toPage(rows.map(toRecord), query.pageSize, (service) => [service.slug]);
  }

  /**
   * Every service, read in pages by id (not one snapshot: a change during the
   * read is announced on the feed, and the directory reads again after it).
   */
  async all(): Promise<ServiceRecord[]> {
    const services: ServiceRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const rows =
        after === undefined
          ? await this.sql.query<Row>(`SELECT ${COLUMNS} FROM services ORDER BY id LIMIT $1`, [
              this.allPageSize,
            ])
          : await this.sql.query<Row>(`SELECT ${COLUMNS} FROM services WHERE id > $2 ORDER BY id LIMIT $1`, [
              this.allPageSize,
              after,
            ]);
      for (const row of rows) services.push(toRecord(row));
      if (rows.length < this.allPageSize) return services;
      after = rows[rows.length - 1]!.id;
    }
  }

  async directoryVersion(): Promise<number> {
    const rows = await this.sql.query<{ version: Row["version"] }>(
      `SELECT version FROM service_directory_version`,
    );
    return Number(rows[0]?.version ?? 0);
  }

  async update(id: string, changes: ServiceChanges): Promise<ServiceRecord | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      if (value === undefined) return;
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    set("display_name", changes.displayName);
    set("description", changes.description);
    set("audience", changes.audience);
    set("status", changes.status);
    set("roles", changes.roles);
    set("hosts", changes.hosts);
    sets.push("updated_at = now()", "version = (SELECT version FROM next)");
    try {
      const rows = await this.sql.query<Row>(
        `WITH target AS (SELECT id FROM services WHERE id = $1 FOR UPDATE),
              next AS (${NEXT_VERSION_FOR_TARGET})
         UPDATE services SET ${sets.join(", ")}
         WHERE id = $1 AND EXISTS (SELECT 1 FROM next) RETURNING ${COLUMNS}`,
        params,
      );
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async delete(id: string): Promise<number | undefined> {
    const rows = await this.sql.query<{ version: Row["version"] }>(
      `WITH target AS (SELECT id FROM services WHERE id = $1 FOR UPDATE),
            next AS (${NEXT_VERSION_FOR_TARGET}),
            gone AS (DELETE FROM services WHERE id = $1 AND EXISTS (SELECT 1 FROM next) RETURNING id)
       SELECT next.version FROM next, gone`,
      [id],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].version);
  }

  async rolesInUse(serviceId: string): Promise<Set<string>> {
    const union = GRANT_TABLES.map((table) => `SELECT role FROM ${table} WHERE service_id = $1`).join(
      " UNION ",
    );
    const rows = await this.sql.query<{ role: string }>(union, [serviceId]);
    return new Set(rows.map((row) => row.role));
  }
}
