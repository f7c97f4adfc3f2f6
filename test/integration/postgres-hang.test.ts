import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timedCall } from "../support/deadline.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, loginTokens, TEST_ADMIN, USERS } from "../support/identity.ts";
import { PrivatePostgres } from "../support/private-postgres.ts";

/**
 * PostgreSQL that stops answering with its connections open (SIGSTOP on the
 * postmaster and every backend of a server of the test's own), with the pool
 * full of calls waiting on it: every call answers UNAVAILABLE
 * (database_unavailable) within the statement and acquire deadlines, /readyz
 * answers 503 within its own, and all of it recovers once the server wakes.
 */
describe("PostgreSQL hang (SIGSTOP) with a full pool", () => {
  let postgres: PrivatePostgres;
  let server: TestGatehouse;
  let admin: string;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, DATABASE_URL: postgres.url, DATABASE_POOL_SIZE: "2" },
    });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });

  afterAll(async () => {
    postgres?.resume();
    await server?.stop();
    await postgres?.stop();
  });

  const listUsers = (label: string) => timedCall(label, `${server.url}/${USERS}/ListUsers`, {}, admin);

  it("answers UNAVAILABLE and 503 readiness instead of waiting, then recovers", async () => {
    expect((await listUsers("ListUsers (before)")).status).toBe(200);
    expect((await timedCall("/readyz (before)", `${server.url}/readyz`)).status).toBe(200);

    postgres.pause();
    try {
      // More calls than connections: the pool is full of statements the server never answers.
      const crowd = await Promise.all(
        [1, 2, 3, 4].map((n) => listUsers(`ListUsers #${n} of 4 at once (PostgreSQL hung)`)),
      );
      for (const answer of crowd) {
        expect(answer.status).toBe(503);
        expect(answer.body.code).toBe("unavailable");
        expect(answer.reason).toBe("database_unavailable");
      }
      const login = await timedCall("Login (PostgreSQL hung)", `${server.url}/${AUTH}/Login`, {
        login: TEST_ADMIN.username,
        password: TEST_ADMIN.password,
      });
      expect(login.status).toBe(503);
      expect(login.reason).toBe("database_unavailable");
      const list = await listUsers("ListUsers (PostgreSQL hung)");
      expect(list.status).toBe(503);
      expect(list.reason).toBe("database_unavailable");
      const ready = await timedCall("/readyz (PostgreSQL hung)", `${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ database: "unreachable" });
      const health = await timedCall(
        "Health/Check (PostgreSQL hung)",
        `${server.url}/grpc.health.v1.Health/Check`,
        {},
      );
      expect(health.body).toMatchObject({ status: "NOT_SERVING" });
    } finally {
      postgres.resume();
    }

    let recovered = await listUsers("ListUsers (PostgreSQL back)");
    for (let attempt = 0; attempt < 100 && recovered.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      recovered = await listUsers("ListUsers (PostgreSQL back, retry)");
    }
    expect(recovered.status).toBe(200);
    expect((await timedCall("/readyz (PostgreSQL back)", `${server.url}/readyz`)).status).toBe(200);
    const health = await timedCall(
      "Health/Check (PostgreSQL back)",
      `${server.url}/grpc.health.v1.Health/Check`,
      {},
    );
    expect(health.body).toMatchObject({ status: "SERVING" });
    const login = await timedCall("Login (PostgreSQL back)", `${server.url}/${AUTH}/Login`, {
      login: TEST_ADMIN.username,
      password: TEST_ADMIN.password,
    });
    expect(login.status).toBe(200);
  }, 180_000);
});
