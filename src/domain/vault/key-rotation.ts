import type { VaultEntryRepository } from "./vault-entry.ts";
import { entryAssociatedData, type VaultKeyring } from "./vault-keyring.ts";

/** The keyring cannot open what the vault holds: Gatehouse must not start. */
export class VaultKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VaultKeyError";
  }
}

/**
 * Start-up check: every key id the stored entries were sealed under is in
 * the ring. Throws VaultKeyError naming the missing ids (or saying that
 * VAULT_KEYS is unset while entries exist).
 */
export async function requireKeysForStoredEntries(
  keyring: VaultKeyring,
  entries: Pick<VaultEntryRepository, "keyIdsInUse">,
): Promise<void> {
  const inUse = await entries.keyIdsInUse();
  if (inUse.length === 0) return;
  if (!keyring.configured) {
    throw new VaultKeyError(
      `the token vault holds entries sealed under key id(s) ${quoted(inUse)} but VAULT_KEYS is not set`,
    );
  }
  const missing = inUse.filter((keyId) => !keyring.has(keyId));
  if (missing.length > 0) {
    throw new VaultKeyError(
      `the token vault holds entries sealed under key id(s) ${quoted(missing)}, missing from VAULT_KEYS: ` +
        "add the key(s) back (rotation: keep an old key until `npm run vault:reencrypt` has moved every entry off it)",
    );
  }
}

export interface ReencryptionProgress {
  /** Entries moved to the active key so far. */
  readonly resealed: number;
  /** Entries left under other keys (including failed ones). */
  readonly remaining: number;
  /** Ids of entries that could not be opened (altered, or moved between rows); left as they are. */
  readonly failed: readonly string[];
}

export interface ReencryptionOptions {
  readonly batchSize: number;
  /** Stop once this many entries were moved (the rest waits for the next call); unbounded when absent. */
  readonly maxEntries?: number;
  readonly onProgress?: (progress: ReencryptionProgress) => void;
  /** Waits before looking again when only rows locked by mints are left. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Re-seals every entry not under the active key, in batches, online: each
 * batch is one short transaction over rows it locks (skipping rows a mint
 * holds, which that mint re-seals itself), so reads and mints go on.
 * Resumable: it only ever looks for rows under other keys. Rows that fail to
 * open are reported and skipped.
 */
export async function reencryptVault(
  keyring: VaultKeyring,
  entries: Pick<VaultEntryRepository, "resealBatch" | "countNotUnder">,
  options: ReencryptionOptions,
): Promise<ReencryptionProgress> {
  const activeKeyId = keyring.activeKeyId;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const failed: string[] = [];
  let resealed = 0;
  for (;;) {
    let moved = 0;
    const batchSize =
      options.maxEntries === undefined
        ? options.batchSize
        : Math.min(options.batchSize, options.maxEntries - resealed);
    const batch = await entries.resealBatch(activeKeyId, batchSize, failed, (row) => {
      try {
        const sealed = keyring.reseal(row.sealed, entryAssociatedData(row, "stored_token"));
        moved++;
        return sealed;
      } catch {
        failed.push(row.id);
        return undefined;
      }
    });
    resealed += moved;
    const remaining = await entries.countNotUnder(activeKeyId);
    const progress = { resealed, remaining, failed: [...failed] };
    options.onProgress?.(progress);
    if (remaining <= failed.length) return progress;
    if (options.maxEntries !== undefined && resealed >= options.maxEntries) return progress;
    // Nothing taken: the rows left are locked by mints right now; look again shortly.
    if (batch.length === 0) await sleep(200);
  }
}

const quoted = (ids: readonly string[]) => ids.map((id) => `"${id}"`).join(", ");
