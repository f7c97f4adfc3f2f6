import { DomainError } from "../domain/errors.ts";
import type { OidcClient } from "../domain/oidc/oidc-client.ts";
import type {
  NewOidcClient,
  OidcClientRepository,
  OidcClientSettings,
} from "../domain/oidc/oidc-client-repository.ts";
import { type Page, toPage } from "../domain/pagination.ts";
import { decodeTimeIdCursor } from "./keyset.ts";
import { isUuid, type Sql } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

interface Row {
  id: string;
  client_id: string;
  name: string;
  type: OidcClient["type"];
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: OidcClient["grantTypes"][number][];
  scopes: string[];
  first_party: boolean;
  backchannel_logout_uri: string;
  id_token_signing_alg: OidcClient["idTokenSigningAlg"];
  token_endpoint_auth_method: OidcClient["tokenEndpointAuthMethod"];
  jwks: string;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  secret_rotated_at: Date | null;
  created_key: string;
}

const COLUMNS = `id, client_id, name, type, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
  first_party, backchannel_logout_uri, id_token_signing_alg, token_endpoint_auth_method, jwks, disabled,
  created_at, updated_at, secret_rotated_at, created_at::text AS created_key`;

/** The settings' columns, in the order of `settingValues`. */
const SETTING_COLUMNS: ReadonlyArray<[keyof OidcClientSettings, string]> = [
  ["name", "name"],
  ["redirectUris", "redirect_uris"],
  ["postLogoutRedirectUris", "post_logout_redirect_uris"],
  ["grantTypes", "grant_types"],
  ["scopes", "scopes"],
  ["firstParty", "first_party"],
  ["backchannelLogoutUri", "backchannel_logout_uri"],
  ["idTokenSigningAlg", "id_token_signing_alg"],
  ["tokenEndpointAuthMethod", "token_endpoint_auth_method"],
  ["jwks", "jwks"],
  ["disabled", "disabled"],
];

const settingValues = (settings: OidcClientSettings): unknown[] =>
  SETTING_COLUMNS.map(([key]) => {
    const value = settings[key];
    return Array.isArray(value) ? [...value] : value;
  });

const toClient = (row: Row): OidcClient => ({
  id: row.id,
  clientId: row.client_id,
  name: row.name,
  type: row.type,
  redirectUris: row.redirect_uris,
  postLogoutRedirectUris: row.post_logout_redirect_uris,
  grantTypes: row.grant_types,
  scopes: row.scopes,
  firstParty: row.first_party,
  backchannelLogoutUri: row.backchannel_logout_uri,
  idTokenSigningAlg: row.id_token_signing_alg,
  tokenEndpointAuthMethod: row.token_endpoint_auth_method,
  jwks: row.jwks,
  disabled: row.disabled,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  secretRotatedAt: row.secret_rotated_at === null ? undefined : new Date(row.secret_rotated_at),
});

const alreadyExists = (error: unknown) =>
  new DomainError("already_exists", "oidc_client_exists", "an OIDC client with this client_id exists", {
    cause: error,
  });

export class SqlOidcClientRepository implements OidcClientRepository {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  /** Parameters: client_id, type, secret_hash, then the settings (insertParams). */
  private insertStatement(onConflict: string): string {
    const columns = ["client_id", "type", "secret_hash", ...SETTING_COLUMNS.map(([, column]) => column)];
    // One type for $3, which the secret_rotated_at expression reads too.
    const values = columns.map((column, index) => (column === "secret_hash" ? "$3::text" : `$${index + 1}`));
    return `INSERT INTO oidc_clients (${columns.join(", ")}, secret_rotated_at)
      VALUES (${values.join(", ")}, CASE WHEN $3::text IS NULL THEN NULL ELSE clock_timestamp() END)
      ${onConflict} RETURNING ${COLUMNS}`;
  }

  private insertParams(client: NewOidcClient): unknown[] {
    return [client.clientId, client.type, client.secretHash ?? null, ...settingValues(client)];
  }

  async create(client: NewOidcClient): Promise<OidcClient> {
    try {
      const rows = await this.sql.query<Row>(this.insertStatement(""), this.insertParams(client));
      return toClient(rows[0]!);
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyExists(error);
      throw error;
    }
  }

  async ensure(client: NewOidcClient, managed: readonly (keyof OidcClientSettings)[]): Promise<OidcClient> {
    const updates = SETTING_COLUMNS.filter(([key]) => managed.includes(key)).map(
      ([, column]) => `${column} = EXCLUDED.${column}`,
    );
    // DO UPDATE (not DO NOTHING) so that RETURNING yields the row for the replica that lost the race too.
    const rows = await this.sql.query<Row>(
      this.insertStatement(`ON CONFLICT (client_id) DO UPDATE SET ${updates.join(", ")}`),
      this.insertParams(client),
    );
    return toClient(rows[0]!);
  }

  async get(id: string): Promise<OidcClient | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(`SELECT ${COLUMNS} FROM oidc_clients WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toClient(rows[0]);
  }

  async findByClientId(
    clientId: string,
  ): Promise<{ client: OidcClient; secretHash: string | undefined } | undefined> {
    const rows = await this.sql.query<Row & { secret_hash: string | null }>(
      `SELECT ${COLUMNS}, secret_hash FROM oidc_clients WHERE client_id = $1`,
      [clientId],
    );
    const row = rows[0];
    return row === undefined
      ? undefined
      : { client: toClient(row), secretHash: row.secret_hash ?? undefined };
  }

  async list(query: { pageSize: number; pageToken: string }): Promise<Page<OidcClient>> {
    const after = decodeTimeIdCursor(query.pageToken);
    const rows = await this.sql.query<Row>(
      `SELECT ${COLUMNS} FROM oidc_clients
       WHERE $1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid)
       ORDER BY created_at, id LIMIT $3`,
      [after?.time ?? null, after?.id ?? null, query.pageSize + 1],
    );
    const page = toPage(rows, query.pageSize, (row) => [row.created_key, row.id]);
    return { items: page.items.map(toClient), nextPageToken: page.nextPageToken };
  }

  async update(id: string, settings: OidcClientSettings): Promise<OidcClient | undefined> {
    if (!isUuid(id)) return undefined;
    const sets = SETTING_COLUMNS.map(([, column], index) => `${column} = $${index + 2}`);
    const rows = await this.sql.query<Row>(
      `UPDATE oidc_clients SET ${sets.join(", ")}, updated_at = clock_timestamp() WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, ...settingValues(settings)],
    );
    return rows[0] === undefined ? undefined : toClient(rows[0]);
  }

  async setSecretHash(id: string, secretHash: string | undefined): Promise<OidcClient | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = await this.sql.query<Row>(
      `UPDATE oidc_clients SET secret_hash = $2::text,
         secret_rotated_at = CASE WHEN $2::text IS NULL THEN NULL ELSE clock_timestamp() END,
         updated_at = clock_timestamp()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, secretHash ?? null],
    );
    return rows[0] === undefined ? undefined : toClient(rows[0]);
  }

  async delete(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.query(`DELETE FROM oidc_clients WHERE id = $1 RETURNING id`, [id])).length > 0;
  }
}
