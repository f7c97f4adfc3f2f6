import { randomUUID } from "node:crypto";
import { KeyedMutex } from "../../../src/domain/vault/single-flight.ts";
import type {
  EntryChange,
  NewVaultEntry,
  ResealCandidate,
  StoredVaultEntry,
  VaultEntry,
  VaultEntryRepository,
} from "../../../src/domain/vault/vault-entry.ts";
import type { EntryIdentity, Sealed } from "../../../src/domain/vault/vault-keyring.ts";

type Row = { -readonly [K in keyof StoredVaultEntry]: StoredVaultEntry[K] };

/**
 * vault_entries in memory. withLock holds a per-entry lock like a row lock,
 * so two VaultServices sharing one instance behave like two replicas.
 */
export class MemoryVaultRepository implements VaultEntryRepository {
  readonly rows = new Map<string, Row>();
  private readonly rowLocks = new KeyedMutex();
  private readonly lockWaiters = new Map<string, number>();

  /** Calls waiting for (or holding) the entry's lock. */
  lockQueue(id: string): number {
    return this.lockWaiters.get(id) ?? 0;
  }

  private byIdentity(identity: EntryIdentity): Row | undefined {
    return [...this.rows.values()].find(
      (row) =>
        row.userId === identity.userId &&
        row.clientId === identity.clientId &&
        row.purpose === identity.purpose,
    );
  }

  async find(identity: EntryIdentity): Promise<StoredVaultEntry | undefined> {
    const row = this.byIdentity(identity);
    return row === undefined ? undefined : { ...row };
  }

  async list(userId: string): Promise<VaultEntry[]> {
    return [...this.rows.values()].filter((row) => row.userId === userId).map((row) => ({ ...row }));
  }

  async put(entry: NewVaultEntry): Promise<{ entry: VaultEntry; replaced: StoredVaultEntry | undefined }> {
    const previous = this.byIdentity(entry);
    const now = new Date();
    const row: Row = {
      id: previous?.id ?? randomUUID(),
      userId: entry.userId,
      clientId: entry.clientId,
      purpose: entry.purpose,
      tokenType: entry.tokenType,
      state: "active",
      sessionId: entry.sessionId,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      lastUsedAt: undefined,
      expiresAt: entry.expiresAt,
      sealed: entry.sealed,
      version: (previous?.version ?? 0) + 1,
      lastAccess: undefined,
    };
    this.rows.set(row.id, row);
    const { sealed: _sealed, version: _version, lastAccess: _lastAccess, ...metadata } = row;
    return { entry: metadata, replaced: previous === undefined ? undefined : { ...previous } };
  }

  async withLock<T>(
    id: string,
    work: (entry: StoredVaultEntry) => Promise<{ result: T; change?: EntryChange }>,
  ): Promise<{ result: T } | undefined> {
    this.lockWaiters.set(id, this.lockQueue(id) + 1);
    try {
      return await this.rowLocks.lock(id, async () => {
        const row = this.rows.get(id);
        if (row === undefined) return undefined;
        const { result, change } = await work({ ...row });
        if (change?.kind === "rotated") {
          Object.assign(row, {
            sealed: change.sealed,
            lastAccess: change.access,
            sessionId: change.sessionId,
            expiresAt: change.expiresAt,
            version: row.version + 1,
            lastUsedAt: new Date(),
          });
        } else if (change?.kind === "dead") {
          row.state = "dead";
        } else if (change?.kind === "deleted") {
          this.rows.delete(id);
        }
        return { result };
      });
    } finally {
      this.lockWaiters.set(id, this.lockQueue(id) - 1);
    }
  }

  async markSessionDead(userId: string, sessionId: string): Promise<number> {
    let count = 0;
    for (const row of this.rows.values()) {
      if (row.userId === userId && row.sessionId === sessionId && row.state === "active") {
        row.state = "dead";
        row.version++;
        count++;
      }
    }
    return count;
  }

  async keyIdsInUse(): Promise<string[]> {
    return [...new Set([...this.rows.values()].map((row) => row.sealed.keyId))].sort();
  }

  async resealBatch(
    activeKeyId: string,
    limit: number,
    skip: readonly string[],
    reseal: (row: ResealCandidate) => Sealed | undefined,
  ): Promise<ResealCandidate[]> {
    const taken = [...this.rows.values()]
      .filter((row) => row.sealed.keyId !== activeKeyId && !skip.includes(row.id))
      .slice(0, limit);
    for (const row of taken) {
      const sealed = reseal(row);
      if (sealed !== undefined) Object.assign(row, { sealed, lastAccess: undefined });
    }
    return taken;
  }

  async countNotUnder(activeKeyId: string): Promise<number> {
    return [...this.rows.values()].filter((row) => row.sealed.keyId !== activeKeyId).length;
  }
}
