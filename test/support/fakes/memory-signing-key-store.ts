import type { SigningKeyStore, StoredSigningKey } from "../../../src/domain/ports/signing-key-store.ts";

/** The signing_keys table, in memory. */
export class MemorySigningKeyStore implements SigningKeyStore {
  readonly keys = new Map<string, StoredSigningKey>();

  async unexpired(now: Date) {
    return [...this.keys.values()].filter((key) => key.expiresAt > now);
  }

  async insert(key: StoredSigningKey) {
    // One generation sequence per algorithm, as the table's unique key.
    const slot = `${key.algorithm}:${key.generation}`;
    if (this.keys.has(slot)) return false;
    this.keys.set(slot, key);
    return true;
  }

  async deleteExpiredBefore(time: Date) {
    for (const [slot, key] of this.keys) if (key.expiresAt < time) this.keys.delete(slot);
  }
}
