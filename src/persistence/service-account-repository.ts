import { DomainError } from "../domain/errors.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import type { ServiceAccount, ServiceAccountRepository } from "../domain/service-accounts/service-account.ts";
import { decodeTimeIdCursor } from "./keyset.ts";
import { isUuid, type Sql } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

interface Row {
  id: string;
  name: string;
  client_id: string;
  description: string;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  secret_rotated_at: Date;
  created_key: string;
}

const COLUMNS =
  "id, name, client_id, description, disabled, created_at, updated_at, secret_rotated_at, created_at::text AS created_key";

const toAccount = (row: Row): ServiceAccount => ({
  id: row.id,
  name: row.name,
  clientId: row.client_id,
  description: row.description,
  disabled: row.disabled,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  secretRotatedAt: new Date(row.secret_rotated_at),
});

export class SqlServiceAccountRepository implements ServiceAccountRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async create(account: {
    name: string;
    clientId: string;
    description: string;
    secretHash: string;
  }): Promise<ServiceAccount> {
    try {
      const rows = await this.sql.query<Row>(
        `INSERT INTO service_accounts (name, client_id, description, secret_hash) VALUES ($1, $2, $3, $4)
         RETURNING ${COLUMNS}`,
        [account.name, account.clientId, account.description, account.secretHash],
      );
      return toAccount(rows[0]!);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new DomainError(
          "already_exists",
          "service_account_exists",
          "a service account with this name exists",
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  async get(id: string): Promise<ServiceAccount | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM service_accounts WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toAccount(rows[0]);
  }

  async findByClientId(
    clientId: string,
  ): Promise<{ account: ServiceAccount; secretHash: string } | undefined> {
    const rows = await this.sql.query<Row & { secret_hash: string }>(
      `SELECT ${COLUMNS}, secret_hash FROM service_accounts WHERE client_id = $1`,
      [clientId],
    );
    const row = rows[0];
    return row === undefined ? undefined : { account: toAccount(row), secretHash: row.secret_hash };
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<ServiceAccount>> {
    const after = decodeTimeIdCursor(query.pageToken);
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM service_accounts
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid)
       ORDER BY created_at, id LIMIT $3`,
      [after?.time ?? null, after?.id ?? null, query.pageSize + 1],
    );
    const page = toPage(rows, query.pageSize, (row) => [row.created_key, row.id]);
    return { items: page.items.map(toAccount), nextPageToken: page.nextPageToken };
  }

  async update(
    id: string,
    changes: { description?: string; disabled?: boolean },
  ): Promise<ServiceAccount | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(
      `UPDATE service_accounts SET description = COALESCE($2, description), disabled = COALESCE($3, disabled),
         updated_at = clock_timestamp()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.description ?? null, changes.disabled ?? null],
    );
    return rows[0] === undefined ? undefined : toAccount(rows[0]);
  }

  async setSecretHash(id: string, secretHash: string): Promise<ServiceAccount | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(
      `UPDATE service_accounts SET secret_hash = $2, secret_rotated_at = clock_timestamp(),
         updated_at = clock_timestamp()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, secretHash],
    );
    return rows[0] === undefined ? undefined : toAccount(rows[0]);
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.query(`DELETE FROM service_accounts WHERE id = $1 RETURNING id`, [id])).length > 0;
  }
}
