import type {
  EntryChange,
  NewVaultEntry,
  ResealCandidate,
  StoredVaultEntry,
  VaultEntry,
  VaultEntryRepository,
} from "../domain/vault/vault-entry.ts";
import type { EntryIdentity, Sealed } from "../domain/vault/vault-keyring.ts";
import { isUuid, type Sql, type SqlRunner } from "./sql.ts";

interface EntryRow {
  id: string;
  user_id: string;
  client_id: string;
  purpose: string;
  token_type: "refresh" | "offline";
  state: "active" | "dead";
  session_id: string;
  key_id: string;
  token_sealed: Uint8Array;
  access_sealed: Uint8Array | null;
  access_expires_at: Date | null;
  access_scope: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
}

const METADATA_COLUMNS =
  "id, user_id, client_id, purpose, token_type, state, session_id, created_at, updated_at, last_used_at, expires_at";
const COLUMNS = `${METADATA_COLUMNS}, key_id, token_sealed, access_sealed, access_expires_at, access_scope, version`;

const optionalDate = (value: Date | null) => (value === null ? undefined : new Date(value));

const toEntry = (row: EntryRow): VaultEntry => ({
  id: row.id,
  userId: row.user_id,
  clientId: row.client_id,
  purpose: row.purpose,
  tokenType: row.token_type,
  state: row.state,
  sessionId: row.session_id,
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.updated_at),
  lastUsedAt: optionalDate(row.last_used_at),
  expiresAt: optionalDate(row.expires_at),
});

const toStored = (row: EntryRow): StoredVaultEntry => ({
  ...toEntry(row),
  sealed: { keyId: row.key_id, ciphertext: Buffer.from(row.token_sealed) },
  version: row.version,
  lastAccess:
    row.access_sealed === null || row.access_expires_at === null
      ? undefined
      : {
          ciphertext: Buffer.from(row.access_sealed),
          expiresAt: new Date(row.access_expires_at),
          scope: row.access_scope ?? "",
        },
});

/** Caps how many locked mints run at once, so that each can still get a second pooled connection. */
class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(permits: number) {
    this.available = permits;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.available++;
      else next();
    }
  }
}

/**
 * The vault_entries table. On PostgreSQL a mint holds the entry's row lock
 * (SELECT … FOR UPDATE) across the provider round trip, so replicas sharing
 * the database take turns and none loses a rotated token; the transaction
 * holds a pooled connection while the provider (which may need one too)
 * answers, hence at most half the pool in locked mints at once. PGlite is
 * one process with one connection, where a transaction blocks every other
 * statement: there the service's in-process lock is the whole story and the
 * read-modify-write runs without a transaction.
 */
export class SqlVaultRepository implements VaultEntryRepository {
  private readonly sql: Sql;
  private readonly rowLocks: boolean;
  private readonly lockPermits: Semaphore;

  constructor(sql: Sql, options: { readonly embedded: boolean; readonly poolSize: number }) {
    this.sql = sql;
    this.rowLocks = !options.embedded;
    this.lockPermits = new Semaphore(Math.max(1, Math.floor(options.poolSize / 2)));
  }

  async find(identity: EntryIdentity): Promise<StoredVaultEntry | undefined> {
    const rows = await this.sql.query<EntryRow>(
      `SELECT ${COLUMNS} FROM vault_entries WHERE user_id = $1 AND client_id = $2 AND purpose = $3`,
      [identity.userId, identity.clientId, identity.purpose],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  async list(userId: string): Promise<VaultEntry[]> {
    const rows = await this.sql.query<EntryRow>(
      `SELECT ${METADATA_COLUMNS} FROM vault_entries WHERE user_id = $1 ORDER BY created_at, id LIMIT 1000`,
      [userId],
    );
    return rows.map(toEntry);
  }

  put(entry: NewVaultEntry): Promise<{ entry: VaultEntry; replaced: StoredVaultEntry | undefined }> {
    return this.sql.transaction(async (tx) => {
      const previous = await tx.query<EntryRow>(
        `SELECT ${COLUMNS} FROM vault_entries WHERE user_id = $1 AND client_id = $2 AND purpose = $3 FOR UPDATE`,
        [entry.userId, entry.clientId, entry.purpose],
      );
      const rows = await tx.query<EntryRow>(
        `INSERT INTO vault_entries (user_id, client_id, purpose, token_type, session_id, key_id, token_sealed, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (user_id, client_id, purpose) DO UPDATE SET
           token_type = EXCLUDED.token_type, state = 'active', dead_reason = NULL,
           session_id = EXCLUDED.session_id, key_id = EXCLUDED.key_id, token_sealed = EXCLUDED.token_sealed,
           access_sealed = NULL, access_expires_at = NULL, access_scope = NULL,
           version = vault_entries.version + 1, updated_at = clock_timestamp(), last_used_at = NULL,
           expires_at = EXCLUDED.expires_at
         RETURNING ${COLUMNS}`,
        [
          entry.userId,
          entry.clientId,
          entry.purpose,
          entry.tokenType,
          entry.sessionId,
          entry.sealed.keyId,
          Buffer.from(entry.sealed.ciphertext),
          entry.expiresAt ?? null,
        ],
      );
      return {
        entry: toEntry(rows[0]!),
        replaced: previous[0] === undefined ? undefined : toStored(previous[0]),
      };
    });
  }

  async withLock<T>(
    id: string,
    work: (entry: StoredVaultEntry) => Promise<{ result: T; change?: EntryChange }>,
  ): Promise<{ result: T } | undefined> {
    if (!isUuid(id)) return undefined;
    const run = async (runner: SqlRunner) => {
      const rows = await runner.query<EntryRow>(
        `SELECT ${COLUMNS} FROM vault_entries WHERE id = $1${this.rowLocks ? " FOR UPDATE" : ""}`,
        [id],
      );
      if (rows[0] === undefined) return undefined;
      const entry = toStored(rows[0]);
      const { result, change } = await work(entry);
      if (change !== undefined) await applyChange(runner, entry, change);
      return { result };
    };
    if (!this.rowLocks) return run(this.sql);
    return this.lockPermits.run(() => this.sql.transaction(run));
  }

  async markSessionDead(userId: string, sessionId: string, reason: string): Promise<number> {
    const rows = await this.sql.query(
      `UPDATE vault_entries SET state = 'dead', dead_reason = $3, access_sealed = NULL,
         version = version + 1, updated_at = clock_timestamp()
       WHERE user_id = $1 AND session_id = $2 AND state = 'active' RETURNING id`,
      [userId, sessionId, reason],
    );
    return rows.length;
  }

  async keyIdsInUse(): Promise<string[]> {
    const rows = await this.sql.query<{ key_id: string }>(
      `SELECT DISTINCT key_id FROM vault_entries ORDER BY key_id`,
    );
    return rows.map((row) => row.key_id);
  }

  resealBatch(
    activeKeyId: string,
    limit: number,
    skip: readonly string[],
    reseal: (row: ResealCandidate) => Sealed | undefined,
  ): Promise<ResealCandidate[]> {
    return this.sql.transaction(async (tx) => {
      // SKIP LOCKED: rows held by a mint are left to it (it seals with the active key anyway).
      const rows = await tx.query<EntryRow>(
        `SELECT ${COLUMNS} FROM vault_entries
         WHERE key_id <> $1 AND NOT (id = ANY($3::uuid[]))
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [activeKeyId, limit, skip],
      );
      const candidates = rows.map(
        (row): ResealCandidate => ({
          id: row.id,
          userId: row.user_id,
          clientId: row.client_id,
          purpose: row.purpose,
          sealed: { keyId: row.key_id, ciphertext: Buffer.from(row.token_sealed) },
        }),
      );
      for (const candidate of candidates) {
        const sealed = reseal(candidate);
        if (sealed === undefined) continue;
        // The last access token is short-lived and only shared between concurrent calls: dropped, not re-sealed.
        await tx.query(
          `UPDATE vault_entries SET key_id = $2, token_sealed = $3,
             access_sealed = NULL, access_expires_at = NULL, access_scope = NULL
           WHERE id = $1`,
          [candidate.id, sealed.keyId, Buffer.from(sealed.ciphertext)],
        );
      }
      return candidates;
    });
  }

  async countNotUnder(activeKeyId: string): Promise<number> {
    const rows = await this.sql.query<{ count: string | number }>(
      `SELECT count(*) AS count FROM vault_entries WHERE key_id <> $1`,
      [activeKeyId],
    );
    return Number(rows[0]?.count ?? 0);
  }
}

/**
 * Applies a locked read-modify-write. Only to the version read: without row
 * locks (PGlite) a StoreToken may have replaced the entry meanwhile, and it wins.
 */
async function applyChange(runner: SqlRunner, entry: StoredVaultEntry, change: EntryChange): Promise<void> {
  const { id, version } = entry;
  switch (change.kind) {
    case "rotated":
      await runner.query(
        `UPDATE vault_entries SET key_id = $2, token_sealed = $3, access_sealed = $4, access_expires_at = $5,
           access_scope = $6, session_id = $7, expires_at = $8, version = version + 1,
           updated_at = clock_timestamp(), last_used_at = clock_timestamp()
         WHERE id = $1 AND version = $9`,
        [
          id,
          change.sealed.keyId,
          Buffer.from(change.sealed.ciphertext),
          Buffer.from(change.access.ciphertext),
          change.access.expiresAt,
          change.access.scope,
          change.sessionId,
          change.expiresAt ?? null,
          version,
        ],
      );
      return;
    case "dead":
      await runner.query(
        `UPDATE vault_entries SET state = 'dead', dead_reason = $2, access_sealed = NULL,
           updated_at = clock_timestamp()
         WHERE id = $1 AND version = $3`,
        [id, change.reason.slice(0, 64), version],
      );
      return;
    case "deleted":
      await runner.query(`DELETE FROM vault_entries WHERE id = $1 AND version = $2`, [id, version]);
      return;
  }
}
