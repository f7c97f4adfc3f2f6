import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveKeyEncryptionKey } from "./key-encryption-key.ts";

describe("resolveKeyEncryptionKey", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "gatehouse-kek-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("uses KEY_ENCRYPTION_KEY when it is set", async () => {
    expect(await resolveKeyEncryptionKey({ kind: "configured", material: "ab".repeat(32) })).toEqual(
      Buffer.alloc(32, 0xab),
    );
  });

  it("generates a private key file in DATA_DIR once, and reuses it", async () => {
    const [first, concurrent] = await Promise.all([
      resolveKeyEncryptionKey({ kind: "generated", dataDir }),
      resolveKeyEncryptionKey({ kind: "generated", dataDir }),
    ]);
    expect(first).toHaveLength(32);
    expect(concurrent).toEqual(first);
    expect(await resolveKeyEncryptionKey({ kind: "generated", dataDir })).toEqual(first);
    const file = join(dataDir, "key-encryption-key");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toBe(first.toString("hex"));
  });
});
