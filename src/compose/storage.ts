import type { DataSource } from "typeorm";
import type { DatabaseConfig, DependencyTimeouts } from "../config/config.ts";
import type { Tracing } from "../observability/tracing.ts";
import { SqlAccessRepository } from "../persistence/access-repository.ts";
import { SqlAuditRepository } from "../persistence/audit-repository.ts";
import { SqlBusinessRoleRepository } from "../persistence/business-role-repository.ts";
import { ChangeLogRepository } from "../persistence/change-log-repository.ts";
import { SqlCredentialRepository } from "../persistence/credential-repository.ts";
import { openDataSource } from "../persistence/data-source.ts";
import { SqlEventCursorRepository } from "../persistence/event-cursor-repository.ts";
import { SqlGrantRepository } from "../persistence/grant-repository.ts";
import { SqlOidcClientRepository } from "../persistence/oidc-client-repository.ts";
import { SqlPasskeyRepository } from "../persistence/passkey-repository.ts";
import { traceQueries } from "../persistence/query-spans.ts";
import { SqlRoleRepository } from "../persistence/role-repository.ts";
import { SqlServiceAccountRepository } from "../persistence/service-account-repository.ts";
import { SqlServiceRepository } from "../persistence/service-repository.ts";
import { SqlSessionClientRepository } from "../persistence/session-client-repository.ts";
import { SqlSessionRepository } from "../persistence/session-repository.ts";
import { SqlSigningKeyRepository } from "../persistence/signing-key-repository.ts";
import { Sql } from "../persistence/sql.ts";
import { SqlSyncStateRepository } from "../persistence/sync-state-repository.ts";
import { SqlUserLinkRepository } from "../persistence/user-link-repository.ts";
import { SqlUserRepository } from "../persistence/user-repository.ts";
import { SqlUserTokenRepository } from "../persistence/user-token-repository.ts";
import { SqlVaultRepository } from "../persistence/vault-repository.ts";

/** Every repository Gatehouse uses, each built once over one Sql runner. */
export interface Repositories {
  readonly users: SqlUserRepository;
  readonly userTokens: SqlUserTokenRepository;
  readonly userLinks: SqlUserLinkRepository;
  readonly roles: SqlRoleRepository;
  readonly businessRoles: SqlBusinessRoleRepository;
  readonly grants: SqlGrantRepository;
  readonly access: SqlAccessRepository;
  readonly services: SqlServiceRepository;
  readonly serviceAccounts: SqlServiceAccountRepository;
  readonly oidcClients: SqlOidcClientRepository;
  /** Which OIDC clients took part in each session (back-channel logout). */
  readonly sessionClients: SqlSessionClientRepository;
  readonly audit: SqlAuditRepository;
  readonly changeLog: ChangeLogRepository;
  readonly sessions: SqlSessionRepository;
  readonly credentials: SqlCredentialRepository;
  readonly passkeys: SqlPasskeyRepository;
  readonly signingKeys: SqlSigningKeyRepository;
  readonly syncState: SqlSyncStateRepository;
  readonly eventCursor: SqlEventCursorRepository;
  readonly vault: SqlVaultRepository;
}

export interface Storage {
  readonly dataSource: DataSource;
  readonly repositories: Repositories;
  close(): Promise<void>;
}

/** The repositories over an open data source (also for tools such as `npm run vault:reencrypt`). */
export function createRepositories(
  dataSource: DataSource,
  database: DatabaseConfig,
  tracing?: Tracing,
): Repositories {
  const embedded = database.kind === "embedded";
  const sql = new Sql(dataSource, { embedded, tracing });
  const users = new SqlUserRepository(sql);
  const grants = new SqlGrantRepository(sql);
  return {
    users,
    userTokens: new SqlUserTokenRepository(sql),
    userLinks: new SqlUserLinkRepository(sql),
    roles: new SqlRoleRepository(sql),
    businessRoles: new SqlBusinessRoleRepository(sql),
    grants,
    access: new SqlAccessRepository(sql, grants, (id) => users.getUser(id)),
    services: new SqlServiceRepository(sql),
    serviceAccounts: new SqlServiceAccountRepository(sql),
    oidcClients: new SqlOidcClientRepository(sql),
    sessionClients: new SqlSessionClientRepository(sql),
    audit: new SqlAuditRepository(sql),
    changeLog: new ChangeLogRepository(sql),
    sessions: new SqlSessionRepository(sql),
    credentials: new SqlCredentialRepository(sql),
    passkeys: new SqlPasskeyRepository(sql),
    signingKeys: new SqlSigningKeyRepository(sql),
    syncState: new SqlSyncStateRepository(sql),
    eventCursor: new SqlEventCursorRepository(sql),
    vault: new SqlVaultRepository(sql, {
      embedded,
      // The embedded database is one connection; the vault's lock permits only matter on a pool.
      poolSize: database.kind === "postgres" ? database.poolSize : 2,
    }),
  };
}

/** Opens the database (running its migrations) and builds the repositories over it. */
export async function openStorage(
  database: DatabaseConfig,
  timeouts: DependencyTimeouts,
  tracing?: Tracing,
): Promise<Storage> {
  const dataSource = await openDataSource(database, timeouts);
  // After the migrations: only queries made for an RPC become spans.
  if (tracing !== undefined) traceQueries(dataSource, tracing);
  return {
    dataSource,
    repositories: createRepositories(dataSource, database, tracing),
    close: () => dataSource.destroy(),
  };
}
