import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { KeyEncryptionKeySource } from "../../config/config.ts";
import { parseKeyEncryptionKey } from "./sealer.ts";

const FILE_NAME = "key-encryption-key";

/**
 * The key sealing secrets at rest: KEY_ENCRYPTION_KEY when set (config
 * requires it with DATABASE_URL, where replicas must share it); on the
 * embedded defaults, a random key generated once into DATA_DIR (mode 0600),
 * next to the database it protects.
 */
export async function resolveKeyEncryptionKey(source: KeyEncryptionKeySource): Promise<Buffer> {
  if (source.kind === "configured") {
    const key = parseKeyEncryptionKey(source.material);
    if (key === undefined)
      throw new Error("KEY_ENCRYPTION_KEY must be 32 bytes (64 hex characters or base64)");
    return key;
  }
  const path = join(resolve(source.dataDir), FILE_NAME);
  const material = (
    await readFile(path, "utf8").catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      await createKeyFile(path);
      return readFile(path, "utf8");
    })
  ).trim();
  const key = /^[0-9a-f]{64}$/.test(material) ? parseKeyEncryptionKey(material) : undefined;
  if (key === undefined) throw new Error(`${path} does not hold a 32-byte key (64 hex characters)`);
  return key;
}

/** Written aside, then linked into place: of concurrent starts one links first, and all read a whole file. */
async function createKeyFile(path: string): Promise<void> {
  await mkdir(resolve(path, ".."), { recursive: true });
  const draft = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, `${randomBytes(32).toString("hex")}\n`, { flag: "wx", mode: 0o600 });
  try {
    await link(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(draft);
  }
}
