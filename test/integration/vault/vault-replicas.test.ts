import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashOpaqueToken } from "../../../src/domain/opaque-token.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, ok, signUpAndLogin } from "../../support/identity.ts";
import {
  countingVaultTokens,
  metricValue,
  newVaultKey,
  openStoredToken,
  storeToken,
  until,
  VAULT,
  vaultEnv,
  vaultRows,
} from "../../support/vault.ts";

/** Two replicas on one PostgreSQL: mints of one entry take turns on its row lock and share one round trip. */
describe("token vault across replicas (PostgreSQL + Redis)", () => {
  const keys = { k1: newVaultKey() };
  const counters = [countingVaultTokens(), countingVaultTokens()] as const;
  let a: TestGatehouse;
  let b: TestGatehouse;

  beforeAll(async () => {
    a = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ...vaultEnv(keys, "k1") },
      hooks: { wrapVaultTokens: (tokens) => counters[0].wrap(tokens) },
    });
    b = await startTestGatehouse({
      backend: "postgres",
      shareWith: a,
      hooks: { wrapVaultTokens: (tokens) => counters[1].wrap(tokens) },
    });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const mints = () => counters[0].mints + counters[1].mints;
  const waitingOnLocks = async () =>
    Number(
      (
        await a.gatehouse.dataSource.query(
          `SELECT count(*) AS waiting FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      )[0].waiting,
    );

  it("two concurrent GetAccessToken calls on two replicas make one provider round trip", async () => {
    const alice = await signUpAndLogin(a.url);
    await storeToken(a.url, alice.tokens.accessToken, "reports", alice.tokens.refreshToken);
    const get = (replica: TestGatehouse) =>
      ok(replica.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, alice.tokens.accessToken);
    const before = mints();
    const release = counters[0].hold();
    const calls: Array<Promise<any>> = [];
    try {
      calls.push(get(a));
      await until(async () => counters[0].mints > 0, "replica A's round trip");
      calls.push(get(b));
      await until(async () => (await waitingOnLocks()) > 0, "replica B to wait on the entry's row lock");
    } finally {
      release();
    }
    const [fromA, fromB] = await Promise.all(calls);
    expect(mints() - before).toBe(1);
    expect(fromB.accessToken).toBe(fromA.accessToken);
    expect(await metricValue(b.url, "gatehouse_vault_mints_total", 'source="replica"')).toBe(1);
    await ok(b.url, "gatehouse.v1.AuthService/VerifyToken", { token: fromB.accessToken });
  });

  it("never loses a rotated token when replicas take turns", async () => {
    const bob = await signUpAndLogin(a.url);
    await storeToken(b.url, bob.tokens.accessToken, "reports", bob.tokens.refreshToken);
    const minted = await Promise.all(
      [a, b, a, b, a, b].map((replica) =>
        ok(replica.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, bob.tokens.accessToken),
      ),
    );
    for (const answer of minted)
      await ok(a.url, "gatehouse.v1.AuthService/VerifyToken", { token: answer.accessToken });
    const current = openStoredToken(keys, (await vaultRows(a.gatehouse.dataSource, bob.id))[0]!);
    const [row] = await a.gatehouse.dataSource.query(
      `SELECT rotated_at FROM refresh_tokens WHERE token_hash = $1`,
      [hashOpaqueToken(current)],
    );
    expect(row.rotated_at).toBeNull();
    await ok(b.url, `${VAULT}/GetAccessToken`, { purpose: "reports" }, bob.tokens.accessToken);
    const listed = await ok(a.url, `${VAULT}/ListVaultEntries`, {}, bob.tokens.accessToken);
    expect(listed.entries[0].state).toBe("VAULT_ENTRY_STATE_ACTIVE");
  });
});
