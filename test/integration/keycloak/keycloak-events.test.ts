import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { createService, setGrants } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { authorizationClient, type grpc, unary } from "../../support/grpc-stubs.ts";
import {
  AUTH,
  IDENTITY_ENV,
  ok,
  startMailCatcher,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../../support/identity.ts";
import {
  completeKeycloakPasswordReset,
  createTestRealm,
  ensureKeycloak,
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  type TestRealm,
} from "../../support/keycloak.ts";

const PASSWORD = "Correct-horse-battery-9";
/** Upper bound for one propagation in this file; the times are printed, never asserted. */
const BOUND_MS = 30_000;

/**
 * Keycloak's admin and user events reach every replica: two Gatehouse
 * replicas on PostgreSQL and Redis, the event poller at its default interval
 * (KEYCLOAK_EVENTS_POLL_MS=2000), changes made in Keycloak itself (as the
 * master admin, never through Gatehouse), and decisions asked of the replica
 * that did not sign the user in.
 */
describe("Keycloak events", () => {
  let realm: TestRealm;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let authz: grpc.Client;
  let admin: string;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    first = await startTestGatehouse({ backend: "postgres", env: { ...IDENTITY_ENV, ...realm.env } });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
    admin = (
      await ok(first.url, `${AUTH}/Login`, { login: TEST_ADMIN.username, password: TEST_ADMIN.password })
    ).tokens.accessToken;
    service = await createService(first.url, admin);
    authz = authorizationClient(second.url);
  });
  afterAll(async () => {
    authz?.close();
    await second?.stop();
    await first?.stop();
    await realm?.delete();
  });

  /** A Gatehouse user (made in Keycloak through Gatehouse) with a grant, signed in on the first replica. */
  async function signedInUser(profile: Record<string, unknown> = {}) {
    const username = uniqueName("ev");
    const { user } = await ok(
      first.url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "E", lastName: "V", ...profile },
      },
      admin,
    );
    await setGrants(first.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
    const { tokens } = await ok(first.url, `${AUTH}/Login`, { login: username, password: PASSWORD });
    return { user: user as { id: string; externalId: string; username: string }, tokens };
  }

  const check = async (token: string): Promise<number> => {
    const response: any = await unary(authz, "check", {
      attributes: {
        request: {
          http: {
            method: "GET",
            path: "/",
            host: "x",
            headers: { authorization: `Bearer ${token}`, "x-request-id": randomUUID() },
          },
        },
        contextExtensions: { service: service.slug },
      },
    });
    return response.status.code;
  };
  const verifies = async (token: string) =>
    (await postJson(second.url, `${AUTH}/VerifyToken`, { token })).status === 200;

  /** Polls until `done` holds; returns the ms since `since`. */
  async function until(
    done: () => Promise<boolean>,
    what: string,
    since = performance.now(),
  ): Promise<number> {
    for (;;) {
      if (await done()) return performance.now() - since;
      if (performance.now() - since > BOUND_MS) throw new Error(`${what}: not within ${BOUND_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A token Keycloak issues directly (no Gatehouse sign-in). */
  async function keycloakToken(username: string): Promise<string> {
    const response = await fetch(`${realm.issuer}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        username,
        password: PASSWORD,
      }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  async function editInKeycloak(externalId: string, change: (user: any) => any) {
    const { access: _access, ...current } = (await realm.admin("GET", `/users/${externalId}`)).body;
    expect((await realm.admin("PUT", `/users/${externalId}`, change(current))).status).toBe(204);
  }

  it("denies on the other replica a session an admin ended in Keycloak", async () => {
    const { tokens } = await signedInUser();
    expect(await check(tokens.accessToken)).toBe(0);
    expect(await verifies(tokens.accessToken)).toBe(true);

    expect((await realm.admin("DELETE", `/../${realm.name}/sessions/${tokens.sessionId}`)).status).toBe(204);
    const started = performance.now();
    const checkMs = await until(async () => (await check(tokens.accessToken)) === 16, "Check", started);
    const verifyMs = await until(async () => !(await verifies(tokens.accessToken)), "VerifyToken", started);
    console.info(
      `session deleted in Keycloak → Check denied on the other replica after ${checkMs.toFixed(0)} ms, VerifyToken after ${verifyMs.toFixed(0)} ms`,
    );
  });

  it("denies on the other replica a session the user ended at Keycloak's own logout (LOGOUT event)", async () => {
    const { user } = await signedInUser();
    const response = await fetch(`${realm.issuer}/protocol/openid-connect/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        client_id: KEYCLOAK_CLIENT_ID,
        client_secret: KEYCLOAK_CLIENT_SECRET,
        username: user.username,
        password: PASSWORD,
        scope: "openid",
      }),
    });
    const tokens = (await response.json()) as { access_token: string; id_token: string };
    expect(await check(tokens.access_token)).toBe(0);
    const logout = await fetch(
      `${realm.issuer}/protocol/openid-connect/logout?${new URLSearchParams({ id_token_hint: tokens.id_token, client_id: KEYCLOAK_CLIENT_ID })}`,
    );
    expect(logout.status).toBe(200);
    const ms = await until(async () => (await check(tokens.access_token)) === 16, "LOGOUT");
    console.info(`logout at Keycloak → denied on the other replica after ${ms.toFixed(0)} ms (event poll)`);
  });

  it("refuses every token of a user an admin signed out everywhere in Keycloak", async () => {
    const { user, tokens } = await signedInUser();
    expect(await check(tokens.accessToken)).toBe(0);
    expect((await realm.admin("POST", `/users/${user.externalId}/logout`)).status).toBe(204);
    const ms = await until(async () => (await check(tokens.accessToken)) === 16, "sign out everywhere");
    console.info(`admin "sign out" in Keycloak → denied on the other replica after ${ms.toFixed(0)} ms`);
  });

  it("denies a user disabled in Keycloak, and allows them again once re-enabled", async () => {
    const { user, tokens } = await signedInUser();
    expect(await check(tokens.accessToken)).toBe(0);

    await editInKeycloak(user.externalId, (current) => ({ ...current, enabled: false }));
    const deniedMs = await until(async () => (await check(tokens.accessToken)) === 16, "disabled");
    expect(await verifies(tokens.accessToken)).toBe(false);
    console.info(`user disabled in Keycloak → denied on the other replica after ${deniedMs.toFixed(0)} ms`);

    // Tokens issued up to the second of the cut-off stay refused; a new one is issued a second later.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await editInKeycloak(user.externalId, (current) => ({ ...current, enabled: true }));
    const started = performance.now();
    const fresh = await keycloakToken(user.username);
    const allowedMs = await until(async () => (await check(fresh)) === 0, "re-enabled", started);
    expect(await verifies(fresh)).toBe(true);
    console.info(
      `user re-enabled in Keycloak → allowed on the other replica after ${allowedMs.toFixed(0)} ms`,
    );
  });

  it("disables locally, and denies, a user deleted in Keycloak", async () => {
    const { user, tokens } = await signedInUser();
    expect(await check(tokens.accessToken)).toBe(0);
    expect((await realm.admin("DELETE", `/users/${user.externalId}`)).status).toBe(204);
    const ms = await until(async () => (await check(tokens.accessToken)) === 16, "deleted");
    const found = await ok(second.url, `${USERS}/GetUser`, { userId: user.id }, admin);
    expect(found.user.status).toBe("USER_STATUS_DISABLED");
    console.info(
      `user deleted in Keycloak → disabled and denied on the other replica after ${ms.toFixed(0)} ms`,
    );
  });

  it("brings the local record in step with a change made in Keycloak, with no Gatehouse sign-in", async () => {
    const { user } = await signedInUser({ phone: "+1 555 0100" });
    await editInKeycloak(user.externalId, (current) => ({
      ...current,
      firstName: "Renamed",
      attributes: { ...current.attributes, phone: ["+1 555 0199"] },
    }));
    const ms = await until(async () => {
      const found = await ok(second.url, `${USERS}/GetUser`, { userId: user.id }, admin);
      return found.user.phone === "+1 555 0199" && found.user.firstName === "Renamed";
    }, "phone");
    console.info(`phone changed in Keycloak → local record on the other replica after ${ms.toFixed(0)} ms`);
  });

  it("ends every session when an admin resets the password in Keycloak", async () => {
    const { user, tokens } = await signedInUser();
    expect(await check(tokens.accessToken)).toBe(0);
    const reset = await realm.admin("PUT", `/users/${user.externalId}/reset-password`, {
      type: "password",
      value: "Another-horse-battery-7",
      temporary: false,
    });
    expect(reset.status).toBe(204);
    const ms = await until(async () => (await check(tokens.accessToken)) === 16, "password reset");
    const sessions = await realm.admin("GET", `/users/${user.externalId}/sessions`);
    expect(sessions.body).toEqual([]);
    console.info(`password reset in Keycloak → sessions ended, denied after ${ms.toFixed(0)} ms`);
  });

  it("ends the sessions from before a password reset done through Keycloak's mailed link", async () => {
    const catcher = await startMailCatcher();
    try {
      await realm.setSmtpPort(Number(new URL(catcher.url).port));
      const { user, tokens } = await signedInUser();
      expect(await check(tokens.accessToken)).toBe(0);
      const email = `${user.username}@example.test`;
      await ok(first.url, `${AUTH}/ForgotPassword`, { email });
      const mail = await catcher.waitFor(
        (m) => m.to.includes(email) && m.text.includes("login-actions/action-token"),
      );
      await completeKeycloakPasswordReset(mail.text, "Reset-horse-battery-9");
      const ms = await until(async () => (await check(tokens.accessToken)) === 16, "forgot password");
      console.info(`password reset at Keycloak's page → old session denied after ${ms.toFixed(0)} ms`);
      const fresh = await ok(second.url, `${AUTH}/Login`, {
        login: user.username,
        password: "Reset-horse-battery-9",
      });
      expect(await check(fresh.tokens.accessToken)).toBe(0);
    } finally {
      await catcher.close();
    }
  });

  it("runs a full reconcile when the cursor is older than Keycloak keeps events, and says so in /metrics", async () => {
    const { user } = await signedInUser();
    const gaps = async () => {
      let total = 0;
      for (const replica of [first, second]) {
        const text = await (await fetch(`${replica.url}/metrics`)).text();
        total += Number(/^gatehouse_keycloak_event_gaps_total (\d+)/m.exec(text)?.[1] ?? "0");
      }
      return total;
    };
    expect(await gaps()).toBe(0);
    // A change the event stream will not carry: the cursor is moved past it, and left unpolled for 8 days.
    await editInKeycloak(user.externalId, (current) => ({ ...current, lastName: "Reconciled" }));
    const future = Date.now() + 3_600_000;
    await first.gatehouse.dataSource.query(
      `UPDATE keycloak_event_cursor SET position = $1, polled_at = now() - interval '8 days'`,
      [JSON.stringify({ admin: { t: future, ids: [] }, user: { t: future, ids: [] } })],
    );
    const ms = await until(async () => (await gaps()) === 1, "reconcile");
    const found = await ok(second.url, `${USERS}/GetUser`, { userId: user.id }, admin);
    expect(found.user.lastName).toBe("Reconciled");
    const status = await ok(first.url, `${USERS}/GetSyncStatus`, {}, admin);
    expect(status.lastFullSyncTime).toBeDefined();
    console.info(`a gap in the event stream → full reconcile after ${ms.toFixed(0)} ms`);
  });
});
