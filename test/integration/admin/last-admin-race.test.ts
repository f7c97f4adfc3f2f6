import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, USERS, uniqueName } from "../../support/identity.ts";

const ROUNDS = 12;

/**
 * Two administrators demoting (or disabling) each other at the same moment,
 * through the real server on PostgreSQL: the last-admin rule must hold
 * however the two requests interleave, so at most one of them succeeds.
 */
describe("the last administrator under concurrent demotions (postgres)", () => {
  let server: TestGatehouse;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function newAdmin(creatorToken: string): Promise<{ id: string; token: string }> {
    const username = uniqueName("admin");
    const password = "Racing-admin-pass-1";
    const { user } = await ok(
      server.url,
      `${USERS}/CreateUser`,
      { username, email: `${username}@example.test`, password, emailVerified: true, roles: ["admin"] },
      creatorToken,
    );
    return { id: user.id, token: (await loginTokens(server.url, username, password)).accessToken };
  }

  async function activeAdmins(): Promise<string[]> {
    const rows = await server.gatehouse.dataSource.query(
      `SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
       WHERE r.name = 'admin' AND u.status = 'active'`,
    );
    return rows.map((row: { id: string }) => row.id);
  }

  it("leaves an active administrator, whichever way the two requests interleave", async () => {
    const bootstrap = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    let survivor = await newAdmin(bootstrap);
    const bootstrapId = (await activeAdmins()).find((id) => id !== survivor.id)!;
    await ok(server.url, `${USERS}/SetUserRoles`, { userId: bootstrapId, roles: ["user"] }, survivor.token);
    expect(await activeAdmins()).toEqual([survivor.id]);

    for (let round = 0; round < ROUNDS; round++) {
      const other = await newAdmin(survivor.token);
      // Alternate demotion and disabling: both take an administrator away.
      const takeAway = (token: string, userId: string) =>
        round % 2 === 0
          ? postJson(
              server.url,
              `${USERS}/SetUserRoles`,
              { userId, roles: ["user"] },
              { authorization: `Bearer ${token}` },
            )
          : postJson(
              server.url,
              `${USERS}/UpdateUser`,
              { userId, status: "USER_STATUS_DISABLED" },
              { authorization: `Bearer ${token}` },
            );
      const [first, second] = await Promise.all([
        takeAway(survivor.token, other.id),
        takeAway(other.token, survivor.id),
      ]);
      const succeeded = [first, second].filter((response) => response.status === 200);
      const remaining = await activeAdmins();
      expect(remaining, `round ${round}`).toHaveLength(1);
      expect(succeeded, `round ${round}`).toHaveLength(1);
      survivor = remaining[0] === other.id ? other : survivor;
    }
  });
});
