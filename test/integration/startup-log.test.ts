import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startGatehouseProcess } from "../../harness/gatehouse-process.ts";

describe("the start-up log of a deployed process", () => {
  it("says which key encryption key is in use, never its material", { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-startup-log-"));
    const key = "7d".repeat(32);
    const served = await startGatehouseProcess({
      name: "gatehouse-startup-log",
      env: { DATA_DIR: dataDir, KEY_ENCRYPTION_KEY: key },
    });
    try {
      const started = served
        .output()
        .split("\n")
        .find((line) => line.includes('"gatehouse started"'));
      expect(started).toContain('"keyEncryptionKeySource":"configured"');
      expect(served.output()).not.toContain(key);
    } finally {
      await served.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
