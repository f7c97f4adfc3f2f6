import { randomUUID } from "node:crypto";
import { DomainError } from "../../../src/domain/errors.ts";
import type { NewPasskey, Passkey } from "../../../src/domain/passkeys/passkey.ts";
import type { PasskeyStore } from "../../../src/domain/ports/passkey-store.ts";

/** The passkeys table in memory, with its unique credential id. */
export class MemoryPasskeyStore implements PasskeyStore {
  readonly rows = new Map<string, Passkey>();

  async listByUser(userId: string): Promise<Passkey[]> {
    return [...this.rows.values()].filter((passkey) => passkey.userId === userId);
  }

  async countByUser(userId: string): Promise<number> {
    return (await this.listByUser(userId)).length;
  }

  async findByCredentialId(credentialId: string): Promise<Passkey | undefined> {
    return [...this.rows.values()].find((passkey) => passkey.credentialId === credentialId);
  }

  async create(passkey: NewPasskey): Promise<Passkey> {
    if (await this.findByCredentialId(passkey.credentialId)) {
      throw new DomainError("already_exists", "passkey_exists", "this passkey is registered already");
    }
    const created: Passkey = { ...passkey, id: randomUUID(), createdAt: new Date(), lastUsedAt: undefined };
    this.rows.set(created.id, created);
    return created;
  }

  async rename(userId: string, id: string, name: string): Promise<Passkey | undefined> {
    const found = this.rows.get(id);
    if (found?.userId !== userId) return undefined;
    const renamed = { ...found, name };
    this.rows.set(id, renamed);
    return renamed;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    if (this.rows.get(id)?.userId !== userId) return false;
    return this.rows.delete(id);
  }

  async recordUse(
    id: string,
    use: { expectedSignCount: number; signCount: number; backedUp: boolean },
  ): Promise<boolean> {
    const found = this.rows.get(id);
    if (found === undefined || found.signCount !== use.expectedSignCount) return false;
    this.rows.set(id, { ...found, signCount: use.signCount, backedUp: use.backedUp, lastUsedAt: new Date() });
    return true;
  }
}
