import type { MigrationInterface } from "typeorm";

/**
 * Every migration, in order. Migrations are plain SQL that PostgreSQL and
 * PGlite both run; ids use gen_random_uuid() (built in since PostgreSQL 13)
 * because PGlite has neither uuid-ossp nor pgcrypto.
 */
export const migrations: Array<new () => MigrationInterface> = [];
