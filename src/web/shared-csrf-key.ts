import { randomBytes } from "node:crypto";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { CsrfKeys } from "../server/pages/csrf.ts";

const KEY = "pages:csrf-key";
/** Practically forever: it only signs CSRF tokens, and a lost key just fails open forms once. */
const KEY_TTL_MS = 10 * 365 * 86_400_000;
/** How long a replica trusts its copy before reading the shared one again. */
const RECHECK_MS = 60_000;

/**
 * The CSRF tokens' HMAC key, created once by whichever replica asks first and
 * shared through the coordination store (Redis), so a form served by one
 * replica is accepted by any other. Nothing needs configuring; each replica
 * keeps a copy for a minute. While the store is unreachable and no copy is
 * held, pages answer 503 (the store's unavailable error) rather than use a
 * key of their own that other replicas would refuse.
 */
export function sharedCsrfKeys(store: CoordinationStore, now: () => number = Date.now): CsrfKeys {
  let held: { key: Buffer; readAt: number } | undefined;
  const load = async (): Promise<Buffer> => {
    let value = await store.get(KEY);
    if (value === undefined) {
      await store.setIfAbsent(KEY, randomBytes(32).toString("base64url"), KEY_TTL_MS);
      value = await store.get(KEY);
    }
    if (value === undefined) throw new Error("the shared CSRF key could not be stored");
    held = { key: Buffer.from(value, "base64url"), readAt: now() };
    return held.key;
  };
  return {
    async current() {
      if (held !== undefined && now() - held.readAt < RECHECK_MS) return held.key;
      try {
        return await load();
      } catch (error) {
        if (held !== undefined) return held.key;
        throw error;
      }
    },
    refresh: load,
  };
}
