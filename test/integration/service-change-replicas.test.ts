import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatehouseProcess, startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import { postJson } from "../support/connect-json.ts";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { authorizationClient, checkStatus, type grpc } from "../support/grpc-stubs.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../support/services.ts";

/** Reads of the registry into a replica's directory so far, by kind, from its /metrics. */
async function directoryReads(url: string): Promise<{ full: number; delta: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const count = (kind: string) =>
    Number(
      new RegExp(`^gatehouse_service_directory_reads_total\\{kind="${kind}"\\} (\\d+)`, "m").exec(
        text,
      )?.[1] ?? 0,
    );
  return { full: count("full"), delta: count("delta") };
}

/**
 * Two Gatehouse processes on one PostgreSQL and one Redis: a service changed
 * through the first reaches the second's Check and VerifyToken as a delta —
 * the second reads that one service, and its count of full reloads stays put.
 */
describe("a service change across replicas, applied as a delta (PostgreSQL + Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let first: GatehouseProcess;
  let second: GatehouseProcess;
  let checkOnSecond: grpc.Client;
  let admin: string;
  let service: { id: string; slug: string };
  let userToken: string;

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
    service = await createService(first.url, admin, { hosts: { hosts: ["before.internal"] } });
    const user = await createUser(first.url, admin);
    await setGrants(first.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
    userToken = (await loginTokens(first.url, user.username, user.password)).accessToken;
  });

  afterAll(async () => {
    checkOnSecond?.close();
    expect(await first?.stop()).toBe(0);
    expect(await second?.stop()).toBe(0);
    await database?.drop();
  });

  /** Check on the second replica, the service named by its host (as Envoy routes it). */
  const checkByHost = (host: string): Promise<number> =>
    checkStatus(checkOnSecond, { token: userToken, host });

  const verifyOnSecond = async () => {
    const response = await postJson(
      second.url,
      "gatehouse.v1.AuthService/VerifyToken",
      { token: userToken, serviceId: service.id },
      { authorization: `Bearer ${userToken}` },
    );
    return response.body as any;
  };

  /** Polls until the second replica answers `wanted`; the time is never asserted. */
  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const started = performance.now();
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (performance.now() - started > 10_000) throw new Error(`still ${JSON.stringify(value)} after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  const update = (changes: Record<string, unknown>) =>
    ok(
      first.url,
      "gatehouse.v1.ServiceRegistryService/UpdateService",
      { serviceId: service.id, ...changes },
      admin,
    );

  it("disables, re-enables and re-hosts a service on the second replica without reloading its registry", async () => {
    expect(await checkByHost("before.internal")).toBe(0);
    expect(await verifyOnSecond()).toMatchObject({
      serviceAccess: { granted: true, serviceStatus: "active" },
    });
    const start = await directoryReads(second.url);
    expect(start.full).toBeGreaterThanOrEqual(1); // its first load

    await update({ status: "SERVICE_STATUS_DISABLED" });
    expect(
      await until(
        () => checkByHost("before.internal"),
        (code) => code !== 0,
      ),
    ).toBe(7);
    expect(await verifyOnSecond()).toMatchObject({
      serviceAccess: { granted: false, serviceStatus: "disabled", denialReason: "service_disabled" },
    });

    await update({ status: "SERVICE_STATUS_ACTIVE", hosts: { hosts: ["after.internal"] } });
    expect(
      await until(
        () => checkByHost("after.internal"),
        (code) => code === 0,
      ),
    ).toBe(0);
    expect(await checkByHost("before.internal")).not.toBe(0);
    expect(await verifyOnSecond()).toMatchObject({
      serviceAccess: { granted: true, serviceStatus: "active" },
    });

    const end = await directoryReads(second.url);
    expect(end.full).toBe(start.full);
    expect(end.delta).toBeGreaterThanOrEqual(start.delta + 2);
  });

  it("takes a deleted service out on the second replica, also without a full reload", async () => {
    const start = await directoryReads(second.url);
    await ok(
      first.url,
      "gatehouse.v1.ServiceRegistryService/DeleteService",
      { serviceId: service.id },
      admin,
    );
    expect(
      await until(
        () => checkByHost("after.internal"),
        (code) => code !== 0,
      ),
    ).not.toBe(0);
    const end = await directoryReads(second.url);
    expect(end.full).toBe(start.full);
    expect(end.delta).toBeGreaterThan(start.delta);
  });
});
