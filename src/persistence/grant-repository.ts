import { DomainError } from "../domain/errors.ts";
import type { Grant, GrantHolder, GrantRepository, ListedGrant } from "../domain/grants/grant-repository.ts";
import type { Sql } from "./sql.ts";

const TABLES = {
  user: { grants: "user_service_grants", holderColumn: "user_id", holders: "users", noun: "user" },
  service_account: {
    grants: "service_account_grants",
    holderColumn: "service_account_id",
    holders: "service_accounts",
    noun: "service account",
  },
} as const;

export class SqlGrantRepository implements GrantRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async replace(holder: GrantHolder, grants: readonly Grant[]): Promise<void> {
    const table = TABLES[holder.kind];
    await this.sql.transaction(async (tx) => {
      // The row lock serialises concurrent replacements of the same holder's grants.
      const found = await tx.query(`SELECT id FROM ${table.holders} WHERE id = $1 FOR UPDATE`, [holder.id]);
      if (found.length === 0)
        throw new DomainError("not_found", `${holder.kind}_not_found`, `no such ${table.noun}`);
      const services = await tx.query<{ id: string; roles: string[] }>(
        `SELECT id, roles FROM services WHERE id = ANY($1::uuid[])`,
        [grants.map((grant) => grant.serviceId)],
      );
      const rolesOf = new Map(services.map((service) => [service.id, service.roles]));
      grants.forEach((grant, index) => {
        const roles = rolesOf.get(grant.serviceId);
        if (roles === undefined) {
          throw new DomainError("not_found", "service_not_found", `no such service: ${grant.serviceId}`, {
            violations: [{ field: `grants[${index}].service_id`, description: "no such service" }],
          });
        }
        if (!roles.includes(grant.role)) {
          throw new DomainError(
            "invalid_argument",
            "unknown_role",
            `the service does not define role "${grant.role}"`,
            {
              violations: [
                { field: `grants[${index}].role`, description: `must be one of ${roles.join(", ")}` },
              ],
            },
          );
        }
      });
      await tx.query(`DELETE FROM ${table.grants} WHERE ${table.holderColumn} = $1`, [holder.id]);
      if (grants.length > 0) {
        await tx.query(
          `INSERT INTO ${table.grants} (${table.holderColumn}, service_id, role)
           SELECT $1, service_id, role FROM unnest($2::uuid[], $3::text[]) AS g(service_id, role)`,
          [holder.id, grants.map((grant) => grant.serviceId), grants.map((grant) => grant.role)],
        );
      }
    });
  }

  async list(holder: GrantHolder): Promise<ListedGrant[]> {
    const table = TABLES[holder.kind];
    const rows = await this.sql.query<{ service_id: string; slug: string; role: string }>(
      `SELECT g.service_id, s.slug, g.role FROM ${table.grants} g JOIN services s ON s.id = g.service_id
        WHERE g.${table.holderColumn} = $1 ORDER BY s.slug`,
      [holder.id],
    );
    return rows.map((row) => ({ serviceId: row.service_id, serviceSlug: row.slug, role: row.role }));
  }

  async businessGrants(userId: string): Promise<Array<ListedGrant & { businessRoleId: string }>> {
    const rows = await this.sql.query<{
      service_id: string;
      slug: string;
      role: string;
      business_role_id: string;
    }>(
      `SELECT g.service_id, s.slug, g.role, g.business_role_id
         FROM user_business_roles ub
         JOIN business_role_grants g USING (business_role_id)
         JOIN services s ON s.id = g.service_id
        WHERE ub.user_id = $1
        ORDER BY g.business_role_id, s.slug`,
      [userId],
    );
    return rows.map((row) => ({
      serviceId: row.service_id,
      serviceSlug: row.slug,
      role: row.role,
      businessRoleId: row.business_role_id,
    }));
  }
}
