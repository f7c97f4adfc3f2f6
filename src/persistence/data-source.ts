import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource } from "typeorm";
import { PGliteDriver } from "typeorm-pglite";
import type { DatabaseConfig, DependencyTimeouts } from "../config/config.ts";
import { migrations } from "./migrations/index.ts";

/** Arbitrary, fixed: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 0x6761_7465;
/**
 * The client's read timeout trails the server's statement_timeout, so a slow
 * statement on a live server is cancelled cleanly there (57014) and only a
 * server that does not answer at all trips the client's timer.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 500;

/**
 * Opens the database and applies pending migrations (never `synchronize`).
 * PostgreSQL when DATABASE_URL is set; otherwise PGlite — real PostgreSQL
 * compiled to WebAssembly — persisting to DATA_DIR, so the same SQL migrations
 * serve both and the embedded default behaves like production.
 */
export async function openDataSource(
  config: DatabaseConfig,
  timeouts?: Pick<DependencyTimeouts, "databaseStatementMs" | "databaseAcquireMs">,
): Promise<DataSource> {
  const common = {
    type: "postgres" as const,
    // Plain SQL in repositories (src/persistence/*-repository.ts): no entity schemas.
    entities: [],
    migrations,
    migrationsTableName: "gatehouse_migrations",
    synchronize: false,
    logging: false,
  };
  if (config.kind === "embedded") {
    const dataDir = resolve(config.dataDir, "pglite");
    mkdirSync(dataDir, { recursive: true });
    const dataSource = new DataSource({ ...common, driver: new PGliteDriver({ dataDir }).driver });
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: "each" });
    return dataSource;
  }
  const acquireMs = timeouts?.databaseAcquireMs ?? 5000;
  // TLS required, the certificate verified against this CA and the host name (sslmode=verify-full).
  const ssl =
    config.sslCaFile === undefined
      ? {}
      : { ssl: { ca: readFileSync(config.sslCaFile), rejectUnauthorized: true } };
  // Migrations (and waiting for another replica's) may rightly take longer than any request
  // should: they run on a short-lived pool of their own, without the statement deadline.
  const migrator = new DataSource({
    ...common,
    url: config.url,
    // Two: the advisory lock holds one connection while the migrations run on another.
    poolSize: 2,
    extra: { connectionTimeoutMillis: acquireMs },
    ...ssl,
  });
  await migrator.initialize();
  try {
    await migrate(migrator);
  } finally {
    await migrator.destroy();
  }
  const statementMs = timeouts?.databaseStatementMs;
  const dataSource = new DataSource({
    ...common,
    url: config.url,
    poolSize: config.poolSize,
    extra: {
      connectionTimeoutMillis: acquireMs,
      idleTimeoutMillis: 30_000,
      ...(statementMs === undefined
        ? {}
        : { statement_timeout: statementMs, query_timeout: statementMs + CLIENT_TIMEOUT_MARGIN_MS }),
    },
    ...ssl,
  });
  await dataSource.initialize();
  return dataSource;
}

/**
 * Replicas starting together must not migrate at once: a session-level advisory lock
 * makes the others wait, then find nothing left to do.
 */
async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: "each" });
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    await runner.release();
  }
}
