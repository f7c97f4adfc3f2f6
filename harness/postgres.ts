import { randomBytes } from "node:crypto";
import pg from "pg";

/** The PostgreSQL that scripts/services.sh runs (trust authentication, as in CI). */
export const LOCAL_POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface FreshDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it, closing whatever connections are still open. */
  drop(): Promise<void>;
}

/** Fails with the URL and the way to start it when the server does not answer. */
export async function checkPostgres(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${adminUrl} (run scripts/services.sh)`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

async function asAdmin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, empty database on the real server (Gatehouse runs its migrations
 * on start), named `<prefix>_<random>` so that leftovers show who made them.
 */
export async function createDatabase(adminUrl: string, prefix: string): Promise<FreshDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await asAdmin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => asAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
