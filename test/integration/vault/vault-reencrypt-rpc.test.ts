import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, loginTokens, ok, signUpAndLogin, TEST_ADMIN } from "../../support/identity.ts";
import { newVaultKey, storeToken, VAULT, vaultEnv, vaultRows } from "../../support/vault.ts";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../../packages/client/src/cli/main.ts");

/**
 * ReencryptVault (and `gatehouse keys vault-reencrypt` on it): the online re-encryption of
 * `npm run vault:reencrypt`, over the API, in bounded steps, for holders of keys.manage only.
 */
describe("ReencryptVault over the API (postgres)", () => {
  const keys = { k1: newVaultKey(), k2: newVaultKey() };
  let first: TestGatehouse;
  let rotated: TestGatehouse;
  let configDir: string;
  let user: Awaited<ReturnType<typeof signUpAndLogin>>;

  beforeAll(async () => {
    first = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ...vaultEnv({ k1: keys.k1 }, "k1") },
    });
    user = await signUpAndLogin(first.url);
    for (const purpose of ["a", "b", "c"]) {
      const login = await ok(first.url, "gatehouse.v1.AuthService/Login", {
        login: user.username,
        password: user.password,
      });
      await storeToken(first.url, user.tokens.accessToken, purpose, login.tokens.refreshToken);
    }
    // A replica that knows k2 and seals under it: the entries are still under k1.
    rotated = await startTestGatehouse({
      backend: "postgres",
      shareWith: first,
      env: vaultEnv({ k1: keys.k1, k2: keys.k2 }, "k2"),
    });
    configDir = await mkdtemp(join(tmpdir(), "gatehouse-cli-keys-"));
  });
  afterAll(async () => {
    await rotated?.stop();
    await first?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  const keyIds = async () => (await vaultRows(rotated.gatehouse.dataSource)).map((row) => row.key_id).sort();

  it("is refused to a caller without keys.manage", async () => {
    const denied = await postJson(
      rotated.url,
      `${VAULT}/ReencryptVault`,
      {},
      {
        authorization: `Bearer ${user.tokens.accessToken}`,
      },
    );
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe("permission_denied");
    expect(await keyIds()).toEqual(["k1", "k1", "k1"]);
  });

  it("moves at most max_entries per call and says how many are left", async () => {
    const admin = (await loginTokens(rotated.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const step = await ok(rotated.url, `${VAULT}/ReencryptVault`, { maxEntries: 1 }, admin);
    expect(step).toMatchObject({ activeKeyId: "k2", resealed: 1, remaining: 2, failedEntryIds: [] });
    expect(await keyIds()).toEqual(["k1", "k1", "k2"]);
  });

  it("`gatehouse keys vault-reencrypt` finishes the job in steps, and every entry still mints", async () => {
    const env = { ...process.env, GATEHOUSE_CONFIG_DIR: configDir };
    const login = execFile(
      process.execPath,
      [CLI, "--server", rotated.url, "login", "--username", TEST_ADMIN.username, "--password-stdin"],
      { env },
    );
    login.stdin!.end(TEST_ADMIN.password);
    await new Promise((done) => login.once("exit", done));
    const { stdout } = await run(
      process.execPath,
      [CLI, "--server", rotated.url, "keys", "vault-reencrypt", "--batch", "1"],
      { env },
    );
    expect(stdout).toContain("re-encrypted 1, left under other keys 1");
    expect(stdout).toContain("re-encrypted 2, left under other keys 0");
    expect(stdout).not.toContain(keys.k2);
    expect(await keyIds()).toEqual(["k2", "k2", "k2"]);
    for (const purpose of ["a", "b", "c"]) {
      const minted = await ok(rotated.url, `${VAULT}/GetAccessToken`, { purpose }, user.tokens.accessToken);
      expect(minted.accessToken).toBeTruthy();
    }
  });
});
