import { hashOpaqueToken } from "../domain/opaque-token.ts";
import type { CeremonyStore, PasskeyCeremony } from "../domain/ports/ceremony-store.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";

/**
 * Passkey ceremonies in the coordination store (Redis with several replicas),
 * keyed by a hash of the ceremony id. Single use under a race: the first
 * `take` to set the consumed marker wins, on whichever replica it runs.
 */
export class CoordinationCeremonyStore implements CeremonyStore {
  private readonly store: CoordinationStore;
  private readonly now: () => number;

  constructor(store: CoordinationStore, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  async put(id: string, ceremony: PasskeyCeremony, ttlMs: number): Promise<void> {
    await this.store.set(`passkey:ceremony:${hashOpaqueToken(id)}`, JSON.stringify(ceremony), ttlMs);
  }

  async take(id: string): Promise<PasskeyCeremony | undefined> {
    const key = hashOpaqueToken(id);
    const stored = await this.store.get(`passkey:ceremony:${key}`);
    if (stored === undefined) return undefined;
    const ceremony = JSON.parse(stored) as PasskeyCeremony;
    const remainingMs = ceremony.expiresAt - this.now();
    if (remainingMs <= 0) return undefined;
    if (!(await this.store.setIfAbsent(`passkey:ceremony-used:${key}`, "1", remainingMs))) return undefined;
    await this.store.delete(`passkey:ceremony:${key}`);
    return ceremony;
  }
}
