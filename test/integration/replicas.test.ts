import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatehouseProcess, startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { authorizationClient, checkStatus, type grpc } from "../support/grpc-stubs.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../support/services.ts";

/**
 * Two Gatehouse processes sharing PostgreSQL and Redis, as two replicas behind
 * a load balancer: a change made through one is honoured by Check on the other.
 * Propagation times are measured and printed, never asserted.
 */
describe("two replicas (separate processes, shared PostgreSQL and Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: GatehouseProcess;
  let second: GatehouseProcess;
  let checkOnSecond: grpc.Client;
  let admin: string;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ...IDENTITY_ENV,
      ...postgresRedisTestEnvironment(database, {
        issuer: "http://gatehouse.test",
        keyEncryptionKey: "5a".repeat(32),
      }),
    };
    [first, second] = await Promise.all([startGatehouseProcess({ env }), startGatehouseProcess({ env })]);
    checkOnSecond = authorizationClient(second.url);
    admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    service = await createService(first.url, admin);
  });

  afterAll(async () => {
    checkOnSecond?.close();
    expect(await first?.stop()).toBe(0);
    expect(await second?.stop()).toBe(0);
    await database?.drop();
  });

  const check = (token: string): Promise<number> =>
    checkStatus(checkOnSecond, { token, service: service.slug });

  /** Time from `change` returning on the first replica until Check on the second stops allowing. */
  async function propagation(token: string, change: () => Promise<unknown>): Promise<number> {
    expect(await check(token)).toBe(0);
    await change();
    const started = performance.now();
    for (;;) {
      if ((await check(token)) !== 0) return performance.now() - started;
      if (performance.now() - started > 10_000)
        throw new Error("the change never reached the second replica");
    }
  }

  async function grantedUser() {
    const user = await createUser(first.url, admin);
    await setGrants(first.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
    return { user, tokens: await loginTokens(first.url, user.username, user.password) };
  }

  it("honours a logout on the other replica", async () => {
    const { tokens } = await grantedUser();
    const ms = await propagation(tokens.accessToken, () =>
      ok(first.url, "gatehouse.v1.AuthService/Logout", { refreshToken: tokens.refreshToken }),
    );
    console.info(`logout on replica 1 → denied by Check on replica 2 after ${ms.toFixed(1)} ms`);
    expect(await check(tokens.accessToken)).toBe(16);
  });

  it("honours a user being disabled on the other replica", async () => {
    const { user, tokens } = await grantedUser();
    const ms = await propagation(tokens.accessToken, () =>
      ok(
        first.url,
        "gatehouse.v1.UserService/UpdateUser",
        { userId: user.id, status: "USER_STATUS_DISABLED" },
        admin,
      ),
    );
    console.info(`user disabled on replica 1 → denied by Check on replica 2 after ${ms.toFixed(1)} ms`);
    expect(await check(tokens.accessToken)).toBe(16);
  });

  it("honours a grant removal on the other replica", async () => {
    const { user, tokens } = await grantedUser();
    const ms = await propagation(tokens.accessToken, () => setGrants(first.url, admin, user.id, []));
    console.info(`grant removed on replica 1 → denied by Check on replica 2 after ${ms.toFixed(1)} ms`);
    expect(await check(tokens.accessToken)).toBe(7);
  });
});
