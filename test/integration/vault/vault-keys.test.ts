import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createRepositories } from "../../../src/compose/storage.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { reencryptVault } from "../../../src/domain/vault/key-rotation.ts";
import type { VaultEntryRepository } from "../../../src/domain/vault/vault-entry.ts";
import { VaultKeyring } from "../../../src/domain/vault/vault-keyring.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, ok, signUpAndLogin } from "../../support/identity.ts";
import { newVaultKey, storeToken, VAULT, vaultEnv, vaultRows } from "../../support/vault.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../../..");

/**
 * Key rotation: add a key, make it active, re-encrypt (while reads go on),
 * drop the old key. A start-up whose ring lacks a key id the entries need
 * fails and says which.
 */
describe.each(BACKENDS)("token vault keys (%s)", (backend) => {
  const keys = { k1: newVaultKey(), k2: newVaultKey(), k3: newVaultKey(), k4: newVaultKey() };
  const running: TestGatehouse[] = [];
  let dataDir: string | undefined;

  afterAll(async () => {
    for (const gatehouse of running.reverse()) await gatehouse.stop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  /** Starts a Gatehouse on the shared data with these keys (on PGlite, after the previous one stopped). */
  async function start(ring: Partial<typeof keys>, active: string | undefined): Promise<TestGatehouse> {
    const env = active === undefined ? { VAULT_KEYS: "", VAULT_ACTIVE_KEY: "" } : vaultEnv(ring, active);
    if (backend === "embedded") {
      for (const gatehouse of running.splice(0)) await gatehouse.stop();
      dataDir ??= await mkdtemp(join(tmpdir(), "gatehouse-vault-keys-"));
      const gatehouse = await startTestGatehouse({
        backend,
        env: { ...IDENTITY_ENV, DATA_DIR: dataDir, ...env },
      });
      running.push(gatehouse);
      return gatehouse;
    }
    const gatehouse =
      running[0] === undefined
        ? await startTestGatehouse({ backend, env: { ...IDENTITY_ENV, ...env } })
        : await startTestGatehouse({ backend, shareWith: running[0], env });
    running.push(gatehouse);
    return gatehouse;
  }

  it("re-encrypts every entry while reads keep working, then runs without the old key; a missing key stops start-up", async () => {
    let gatehouse = await start({ k1: keys.k1 }, "k1");
    const users: Array<Awaited<ReturnType<typeof signUpAndLogin>>> = [];
    for (let index = 0; index < 3; index++) {
      const user = await signUpAndLogin(gatehouse.url);
      for (const purpose of ["reports", "backups"]) {
        const token = (
          await ok(gatehouse.url, "gatehouse.v1.AuthService/Login", {
            login: user.username,
            password: user.password,
          })
        ).tokens.refreshToken;
        await storeToken(gatehouse.url, user.tokens.accessToken, purpose, token);
      }
      users.push(user);
    }
    const readAll = async (url: string, purposes = ["reports", "backups"]) => {
      for (const user of users) {
        for (const purpose of purposes) {
          const answer = await ok(url, `${VAULT}/GetAccessToken`, { purpose }, user.tokens.accessToken);
          await ok(url, "gatehouse.v1.AuthService/VerifyToken", { token: answer.accessToken });
        }
      }
    };
    const keyIds = async () =>
      (await vaultRows(gatehouse.gatehouse.dataSource)).map((row) => row.key_id).sort();
    expect(await keyIds()).toEqual(Array(6).fill("k1"));

    // Add k2 and make it active; re-encrypt one entry at a time, reading every entry between batches.
    gatehouse = await start({ k1: keys.k1, k2: keys.k2 }, "k2");
    const config = loadConfig({ ...gatehouse.env, ...vaultEnv({ k1: keys.k1, k2: keys.k2 }, "k2") });
    const keyring = new VaultKeyring(config.vault.keys, config.vault.activeKeyId);
    const entries: VaultEntryRepository = createRepositories(
      gatehouse.gatehouse.dataSource,
      config.database,
    ).vault;
    const mixed: string[][] = [];
    const result = await reencryptVault(
      keyring,
      {
        countNotUnder: (keyId) => entries.countNotUnder(keyId),
        async resealBatch(...args) {
          const batch = await entries.resealBatch(...args);
          mixed.push(await keyIds());
          await readAll(gatehouse.url);
          return batch;
        },
      },
      { batchSize: 1 },
    );
    expect(result).toMatchObject({ remaining: 0, failed: [] });
    expect(mixed.some((ids) => ids.includes("k1") && ids.includes("k2"))).toBe(true);
    expect(await keyIds()).toEqual(Array(6).fill("k2"));

    // The real command, k2 → k3. PGlite is one process's: there it runs while Gatehouse is stopped.
    const withK3 = { k2: keys.k2, k3: keys.k3 };
    let reads: Promise<void> = Promise.resolve();
    if (backend === "postgres") {
      gatehouse = await start(withK3, "k3");
      // Mints re-seal under the active key themselves: read only half, so the command has work left.
      reads = readAll(gatehouse.url, ["reports"]);
    } else {
      for (const stopping of running.splice(0)) await stopping.stop();
    }
    const command = await run(process.execPath, ["src/vault-reencrypt.ts", "--batch-size", "2"], {
      cwd: ROOT,
      env: { ...process.env, ...gatehouse.env, ...vaultEnv(withK3, "k3"), LOG_LEVEL: "silent" },
    });
    await reads;
    const moved = Number(/re-encrypted (\d+), left under other keys 0\n/.exec(command.stdout)?.[1]);
    expect(moved).toBeGreaterThanOrEqual(3);
    expect(moved).toBeLessThanOrEqual(6);
    expect(command.stdout).toContain('done: every entry is sealed under "k3"');
    expect(command.stdout + command.stderr).not.toMatch(new RegExp(`${keys.k2}|${keys.k3}`));

    // k2 can go now; a ring without k3 cannot start.
    const missing = start({ k4: keys.k4 }, "k4");
    await expect(missing).rejects.toThrow(/"k3", missing from VAULT_KEYS/);
    await expect(start({}, undefined)).rejects.toThrow(
      /sealed under key id\(s\) "k3" but VAULT_KEYS is not set/,
    );
    gatehouse = await start({ k3: keys.k3 }, "k3");
    expect(await keyIds()).toEqual(Array(6).fill("k3"));
    await readAll(gatehouse.url);
  });
});
