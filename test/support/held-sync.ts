import type { CoordinationStore } from "../../src/domain/ports/coordination-store.ts";

/** Where a full Keycloak sync publishes its progress (src/domain/sync/user-sync-service.ts). */
const PROGRESS_KEY = "keycloak-sync:progress";

/**
 * Holds a running Keycloak sync where it publishes `processed` users done (the end of a page), on
 * the real store, so that a test reads its progress mid-run whatever the machine's speed.
 * `reached` resolves once it is held; `release` lets it go on and restores the store.
 */
export function holdSyncAt(
  store: CoordinationStore,
  processed: number,
): { reached: Promise<void>; release: () => void } {
  const set = store.set.bind(store);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let held!: () => void;
  const reached = new Promise<void>((resolve) => {
    held = resolve;
  });
  store.set = async (key, value, ttlMs) => {
    await set(key, value, ttlMs);
    if (key === PROGRESS_KEY && (JSON.parse(value) as { processed: number }).processed === processed) {
      held();
      await gate;
    }
  };
  return {
    reached,
    release: () => {
      store.set = set;
      open();
    },
  };
}
