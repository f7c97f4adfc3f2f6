import { parseArgs } from "node:util";
import { openStorage } from "./compose/storage.ts";
import { ConfigError, loadConfig } from "./config/config.ts";
import { AuditLog } from "./domain/audit/audit-log.ts";
import { reencryptVault } from "./domain/vault/key-rotation.ts";
import { VaultKeyring } from "./domain/vault/vault-keyring.ts";
import { createLogger } from "./observability/logger.ts";

/**
 * `npm run vault:reencrypt [-- --batch-size N]`: moves every token-vault
 * entry to the active key (VAULT_ACTIVE_KEY), in batches, while Gatehouse
 * keeps serving (PostgreSQL). Rotation: add the new key to VAULT_KEYS on every
 * replica, then make it active, then run this; once it reports nothing left,
 * the old key may be removed. Safe to stop and run again. With the embedded
 * database, stop Gatehouse first (PGlite is opened by one process at a time).
 * Exit status: 0 done, 1 entries that could not be opened remain, 2 bad
 * configuration.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { "batch-size": { type: "string", default: "100" } } });
  const batchSize = Number(values["batch-size"]);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    process.stderr.write("vault:reencrypt: --batch-size must be an integer from 1 to 10000\n");
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`vault:reencrypt: ${error.message}\n`);
    return 2;
  }
  const keyring = new VaultKeyring(config.vault.keys, config.vault.activeKeyId);
  if (!keyring.configured) {
    process.stderr.write("vault:reencrypt: VAULT_KEYS is not set\n");
    return 2;
  }
  const storage = await openStorage(config.database, config.timeouts);
  try {
    const { repositories } = storage;
    const entries = repositories.vault;
    const before = await entries.countNotUnder(keyring.activeKeyId);
    process.stdout.write(`re-encrypting ${before} entries to key "${keyring.activeKeyId}"\n`);
    const result = await reencryptVault(keyring, entries, {
      batchSize,
      onProgress: (progress) =>
        process.stdout.write(
          `  re-encrypted ${progress.resealed}, left under other keys ${progress.remaining}` +
            (progress.failed.length > 0 ? ` (${progress.failed.length} cannot be opened)` : "") +
            "\n",
        ),
    });
    const audit = new AuditLog(repositories.audit, createLogger(config.log.level));
    await audit.record({
      action: "vault.reencrypt",
      result: result.failed.length === 0 ? "success" : "failure",
      actor: { ip: "", requestId: "vault-reencrypt" },
      actorKind: "operator",
      details: {
        key_id: keyring.activeKeyId,
        resealed: String(result.resealed),
        failed: String(result.failed.length),
      },
    });
    if (result.failed.length > 0) {
      process.stdout.write(`entries that cannot be opened (left as they are): ${result.failed.join(", ")}\n`);
      return 1;
    }
    process.stdout.write(`done: every entry is sealed under "${keyring.activeKeyId}"\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `vault:reencrypt failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
