import type { SigningKeyStore, StoredSigningKey } from "../../../src/domain/ports/signing-key-store.ts";

/** The signing_keys table, in memory. */
export class MemorySigningKeyStore implements SigningKeyStore {
  readonly keys = new Map<number, StoredSigningKey>();

  async unexpired(now: Date) {
    return [...this.keys.values()].filter((key) => key.expiresAt > now);
  }

  async insert(key: StoredSigningKey) {
    if (this.keys.has(key.generation)) return false;
    this.keys.set(key.generation, key);
    return true;
  }

  async deleteExpiredBefore(time: Date) {
    for (const [generation, key] of this.keys) if (key.expiresAt < time) this.keys.delete(generation);
  }
}
