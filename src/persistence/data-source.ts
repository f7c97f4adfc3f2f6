import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { DataSource } from "typeorm";
import { PGliteDriver } from "typeorm-pglite";
import type { DatabaseConfig } from "../config/config.ts";
import { migrations } from "./migrations/index.ts";

/** Arbitrary, fixed: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 0x6761_7465;

/**
 * Opens the database and applies pending migrations (never `synchronize`).
 * PostgreSQL when DATABASE_URL is set; otherwise PGlite — real PostgreSQL
 * compiled to WebAssembly — persisting to DATA_DIR, so the same SQL migrations
 * serve both and the embedded default behaves like production.
 */
export async function openDataSource(config: DatabaseConfig): Promise<DataSource> {
  const common = {
    type: "postgres" as const,
    // Plain SQL in repositories (src/persistence/*-repository.ts): no entity schemas.
    entities: [],
    migrations,
    migrationsTableName: "gatehouse_migrations",
    synchronize: false,
    logging: false,
  };
  let dataSource: DataSource;
  if (config.kind === "postgres") {
    dataSource = new DataSource({
      ...common,
      url: config.url,
      poolSize: config.poolSize,
      extra: { connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 },
      // TLS required, the certificate verified against this CA and the host name (sslmode=verify-full).
      ...(config.sslCaFile === undefined
        ? {}
        : { ssl: { ca: readFileSync(config.sslCaFile), rejectUnauthorized: true } }),
    });
  } else {
    const dataDir = resolve(config.dataDir, "pglite");
    mkdirSync(dataDir, { recursive: true });
    dataSource = new DataSource({ ...common, driver: new PGliteDriver({ dataDir }).driver });
  }
  await dataSource.initialize();
  if (config.kind === "embedded") {
    await dataSource.runMigrations({ transaction: "each" });
    return dataSource;
  }
  // Replicas starting together must not migrate at once: a session-level advisory lock
  // makes the others wait, then find nothing left to do.
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: "each" });
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    await runner.release();
  }
  return dataSource;
}
