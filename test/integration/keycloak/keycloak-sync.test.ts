import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { holdSyncAt } from "../../support/held-sync.ts";
import { AUTH, fails, IDENTITY_ENV, ok, TEST_ADMIN, USERS, uniqueName } from "../../support/identity.ts";
import { createTestRealm, ensureKeycloak, type TestRealm } from "../../support/keycloak.ts";

const PASSWORD = "Correct-horse-battery-9";

/**
 * UserService's Keycloak sync on PostgreSQL and Redis, with two replicas: full
 * and single-user sync, the drift report, the persisted status, and one run at
 * a time across replicas.
 */
describe("Keycloak user sync", () => {
  let realm: TestRealm;
  let gatehouse: TestGatehouse;
  let replica: TestGatehouse;
  let url: string;
  let adminToken: string;

  beforeAll(async () => {
    realm = await createTestRealm(await ensureKeycloak());
    // Small pages, so that a run crosses several. The event poller is off: these tests count what a
    // full run finds, and the poller would apply the Keycloak edits they make first.
    const env = { ...IDENTITY_ENV, ...realm.env, KEYCLOAK_SYNC_PAGE_SIZE: "3", KEYCLOAK_EVENTS_POLL_MS: "0" };
    gatehouse = await startTestGatehouse({ backend: "postgres", env });
    replica = await startTestGatehouse({ backend: "postgres", shareWith: gatehouse });
    url = gatehouse.url;
    const login = await ok(url, `${AUTH}/Login`, {
      login: TEST_ADMIN.username,
      password: TEST_ADMIN.password,
    });
    adminToken = login.tokens.accessToken;
  });
  afterAll(async () => {
    await replica?.stop();
    await gatehouse?.stop();
    await realm?.delete();
  });

  const sync = (base = url) => ok(base, `${USERS}/SyncFromKeycloak`, {}, adminToken);
  const status = (includeDrift: boolean) => ok(url, `${USERS}/GetSyncStatus`, { includeDrift }, adminToken);
  const counts = (run: Record<string, unknown>) => ({
    created: run.created ?? 0,
    updated: run.updated ?? 0,
    unchanged: run.unchanged ?? 0,
    disabled: run.disabled ?? 0,
    failed: run.failed ?? 0,
  });

  async function createThroughGatehouse(profile: Record<string, unknown> = {}) {
    const username = uniqueName("gh");
    const response = await ok(
      url,
      `${USERS}/CreateUser`,
      {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        profile: { firstName: "Local", lastName: "User", ...profile },
      },
      adminToken,
    );
    return response.user as { id: string; externalId: string; username: string; email: string };
  }

  async function editInKeycloak(externalId: string, change: (user: any) => any) {
    const { access: _access, ...current } = (await realm.admin("GET", `/users/${externalId}`)).body;
    const response = await realm.admin("PUT", `/users/${externalId}`, change(current));
    expect(response.status).toBe(204);
  }

  it("imports, updates, keeps and disables in a full run, reports drift before, and a second run changes nothing", async () => {
    expect((await status(false)).lastFullSyncTime).toBeUndefined();
    const native: string[] = [];
    for (let i = 0; i < 5; i++) {
      const username = uniqueName(`native${i}`);
      native.push(username);
      await realm.createUser({
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        enabled: i !== 4,
        attributes: i === 0 ? { organization: ["Bletchley"], phone: ["+44 1908 640404"] } : undefined,
      });
    }
    const renamed = await createThroughGatehouse();
    await editInKeycloak(renamed.externalId, (user) => ({ ...user, firstName: "Changed" }));
    const vanished = await createThroughGatehouse();
    expect((await realm.admin("DELETE", `/users/${vanished.externalId}`)).status).toBe(204);

    const before = await status(true);
    expect(before.driftComputed).toBe(true);
    expect([...before.onlyInKeycloak].sort()).toEqual([...native].sort());
    expect(before.onlyLocal).toEqual([vanished.username]);
    expect(before.differing).toEqual([
      {
        userId: renamed.id,
        externalId: renamed.externalId,
        username: renamed.username,
        fields: ["first_name"],
      },
    ]);

    const first = await sync();
    // Keycloak holds the administrator, five native users, and `renamed`.
    expect(counts(first)).toEqual({ created: 5, updated: 1, unchanged: 1, disabled: 1, failed: 0 });
    expect(new Date(first.finishTime).getTime()).toBeGreaterThanOrEqual(new Date(first.startTime).getTime());

    const imported = await ok(url, `${USERS}/ListUsers`, { query: native[0] }, adminToken);
    expect(imported.users[0]).toMatchObject({
      username: native[0],
      organization: "Bletchley",
      phone: "+44 1908 640404",
      status: "USER_STATUS_ACTIVE",
    });
    const off = await ok(url, `${USERS}/ListUsers`, { query: native[4] }, adminToken);
    expect(off.users[0].status).toBe("USER_STATUS_DISABLED");
    expect((await ok(url, `${USERS}/GetUser`, { userId: renamed.id }, adminToken)).user.firstName).toBe(
      "Changed",
    );
    expect((await ok(url, `${USERS}/GetUser`, { userId: vanished.id }, adminToken)).user.status).toBe(
      "USER_STATUS_DISABLED",
    );
    await ok(url, `${AUTH}/Login`, { login: native[1], password: PASSWORD });

    const second = await sync(replica.url);
    expect(counts(second)).toEqual({ created: 0, updated: 0, unchanged: 7, disabled: 0, failed: 0 });
    const after = await status(true);
    expect(after.lastFullSyncTime).toBe(second.finishTime);
    expect(counts(after.lastFullSyncResult)).toEqual(counts(second));
    expect(after.failuresSince ?? 0).toBe(0);
    expect(after.onlyInKeycloak ?? []).toEqual([]);
    expect(after.onlyLocal).toEqual([vanished.username]);
    expect(after.differing ?? []).toEqual([]);
  });

  it("runs one sync at a time across replicas: a second concurrent call is ABORTED", async () => {
    expect(await gatehouse.gatehouse.store.setIfAbsent("keycloak-sync:lock", "another-replica", 60_000)).toBe(
      true,
    );
    const blocked = await fails(replica.url, `${USERS}/SyncFromKeycloak`, {}, adminToken);
    expect(blocked).toMatchObject({ code: "aborted", reason: "sync_in_progress" });
    await gatehouse.gatehouse.store.delete("keycloak-sync:lock");

    const total = async () =>
      (await ok(url, `${USERS}/ListUsers`, { pageSize: 500 }, adminToken)).users.length;
    const usersBefore = await total();
    const outcomes = await Promise.all(
      [gatehouse.url, replica.url, gatehouse.url].map(async (base) => {
        const response = await fetch(`${base}/${USERS}/SyncFromKeycloak`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
          body: "{}",
        });
        return response.status === 200 ? "ok" : ((await response.json()) as { code: string }).code;
      }),
    );
    expect(outcomes).toContain("ok");
    for (const outcome of outcomes) expect(["ok", "aborted"]).toContain(outcome);
    expect(await total()).toBe(usersBefore);
  });

  it("pushes one user to Keycloak: metadata drift repaired, a user gone from Keycloak re-created and linked", async () => {
    const user = await createThroughGatehouse({ phone: "+1 555 0100", department: "Ops" });
    await editInKeycloak(user.externalId, (current) => ({
      ...current,
      attributes: { ...current.attributes, phone: ["+1 555 0000"] },
    }));
    const drifted = await status(true);
    expect(drifted.differing).toContainEqual(expect.objectContaining({ userId: user.id, fields: ["phone"] }));

    const pushed = await ok(url, `${USERS}/SyncToKeycloak`, { userId: user.id }, adminToken);
    expect(pushed.user).toMatchObject({ id: user.id, externalId: user.externalId, phone: "+1 555 0100" });
    expect((await realm.admin("GET", `/users/${user.externalId}`)).body.attributes.phone).toEqual([
      "+1 555 0100",
    ]);
    expect((await status(true)).differing ?? []).not.toContainEqual(
      expect.objectContaining({ userId: user.id }),
    );

    expect((await realm.admin("DELETE", `/users/${user.externalId}`)).status).toBe(204);
    const recreated = await ok(url, `${USERS}/SyncToKeycloak`, { userId: user.id }, adminToken);
    expect(recreated.user.externalId).not.toBe(user.externalId);
    expect((await realm.admin("GET", `/users/${recreated.user.externalId}`)).body).toMatchObject({
      username: user.username,
      email: user.email,
      firstName: "Local",
      attributes: { phone: ["+1 555 0100"], department: ["Ops"] },
    });
    expect((await status(true)).onlyLocal).not.toContain(user.username);
    expect(
      (await fails(url, `${USERS}/SyncToKeycloak`, { userId: crypto.randomUUID() }, adminToken)).code,
    ).toBe("not_found");
  });

  it("counts a Keycloak user that clashes with a linked local user as a failure, at sign-in and in a run", async () => {
    const local = await createThroughGatehouse();
    // Keycloak's copy moves to another address; a new Keycloak user takes the old one.
    await editInKeycloak(local.externalId, (current) => ({ ...current, email: `moved-${local.email}` }));
    const clashing = uniqueName("clash");
    await realm.createUser({ username: clashing, email: local.email, password: PASSWORD });
    const before = (await status(false)).failuresSince ?? 0;

    const signIn = await fails(url, `${AUTH}/Login`, { login: clashing, password: PASSWORD });
    expect(signIn).toMatchObject({ code: "failed_precondition", reason: "account_link_conflict" });
    expect((await status(false)).failuresSince).toBe(before + 1);

    const run = await sync();
    expect(run.failed).toBe(1);
    // The run updated the local copy to its moved address; the clash is gone for the next run.
    expect(counts(await sync())).toMatchObject({ created: 1, failed: 0 });
    expect((await status(false)).failuresSince ?? 0).toBe(0);
  });

  it("applies Keycloak's values for every field in a full run (the conflict rule), so drift reaches zero", async () => {
    const user = await createThroughGatehouse({
      middleName: "M",
      phone: "+1 555 0100",
      telegram: "@old",
      organization: "Old Org",
      department: "Ops",
      title: "Engineer",
      links: { links: [{ label: "home", url: "https://old.example.test" }] },
    });
    await editInKeycloak(user.externalId, (current) => ({
      ...current,
      email: `changed-${user.email}`,
      emailVerified: true,
      firstName: "New",
      lastName: "Name",
      enabled: false,
      attributes: {
        ...current.attributes,
        middle_name: ["N"],
        phone: ["+1 555 0199"],
        telegram: ["@new"],
        organization: ["New Org"],
        department: ["Sales"],
        title: ["Lead"],
        links: [JSON.stringify({ label: "work", url: "https://new.example.test" })],
      },
    }));
    const before = (await status(true)).differing ?? [];
    expect(before.find((entry: { userId: string }) => entry.userId === user.id)?.fields).toEqual([
      "email",
      "email_verified",
      "first_name",
      "last_name",
      "status",
      "middle_name",
      "phone",
      "telegram",
      "organization",
      "department",
      "title",
      "links",
    ]);
    const started = performance.now();
    const run = await sync();
    const syncMs = performance.now() - started;
    const after = await status(true);
    expect(after.differing ?? []).toEqual([]);
    expect(after.onlyInKeycloak ?? []).toEqual([]);
    expect(after.usersSyncedInLastDay).toBeGreaterThanOrEqual(1);
    expect(after.failureRateInLastDay).toBeGreaterThanOrEqual(0);
    console.info(
      `full sync of ${Object.values(counts(run)).reduce((a: number, b) => a + Number(b), 0)} users after every field changed in Keycloak: ${syncMs.toFixed(0)} ms, then zero drift; GetSyncStatus: ${after.usersSyncedInLastDay} synced in the last day, failure rate ${after.failureRateInLastDay}`,
    );
    expect((await ok(url, `${USERS}/GetUser`, { userId: user.id }, adminToken)).user).toMatchObject({
      status: "USER_STATUS_DISABLED",
      email: `changed-${user.email}`,
      firstName: "New",
      middleName: "N",
      phone: "+1 555 0199",
      telegram: "@new",
      organization: "New Org",
      department: "Sales",
      title: "Lead",
      links: [{ label: "work", url: "https://new.example.test" }],
    });
  });

  it("reports the sync on /metrics: the last run (any replica's) and this replica's counts", async () => {
    await createThroughGatehouse();
    const run = await sync(replica.url);
    const scrape = async (base: string) => (await fetch(`${base}/metrics`)).text();
    const value = (text: string, series: string) => {
      const line = text.split("\n").find((row) => row.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    // The replica that did not run it reads the shared state.
    const other = await scrape(url);
    expect(value(other, "gatehouse_keycloak_sync_last_run_timestamp_seconds")).toBe(
      new Date(run.finishTime).getTime() / 1000,
    );
    for (const [outcome, count] of Object.entries(counts(run))) {
      expect(value(other, `gatehouse_keycloak_sync_last_run_users{outcome="${outcome}"}`), outcome).toBe(
        count,
      );
    }
    expect(value(other, "gatehouse_keycloak_sync_failures_since_last_run")).toBe(0);
    const ran = await scrape(replica.url);
    expect(value(ran, 'gatehouse_keycloak_users_synced_total{outcome="unchanged"}')).toBeGreaterThanOrEqual(
      Number(counts(run).unchanged),
    );

    // A failure outside a run: a sign-in whose Keycloak user clashes with a linked local user.
    const local = await createThroughGatehouse();
    await editInKeycloak(local.externalId, (current) => ({ ...current, email: `moved-${local.email}` }));
    const clashing = uniqueName("clash");
    await realm.createUser({ username: clashing, email: local.email, password: PASSWORD });
    await fails(url, `${AUTH}/Login`, { login: clashing, password: PASSWORD });
    const after = await scrape(url);
    expect(value(after, "gatehouse_keycloak_sync_failures_since_last_run")).toBe(1);
    expect(value(after, 'gatehouse_keycloak_sync_failures_total{source="login"}')).toBeGreaterThanOrEqual(1);
  });

  it("checks permissions: users.sync to sync, users.read for the status", async () => {
    const user = await createThroughGatehouse();
    const token = (await ok(url, `${AUTH}/Login`, { login: user.username, password: PASSWORD })).tokens
      .accessToken;
    for (const [method, body] of [
      ["SyncFromKeycloak", {}],
      ["SyncToKeycloak", { userId: user.id }],
      ["GetSyncStatus", {}],
    ] as const) {
      expect((await fails(url, `${USERS}/${method}`, body, token)).code).toBe("permission_denied");
    }
  });

  it("shows a full run's progress on every replica while it runs, and none after", async () => {
    for (let i = 0; i < 4; i++) {
      const username = uniqueName(`progress${i}`);
      await realm.createUser({ username, email: `${username}@example.test`, password: PASSWORD });
    }
    // Held where it publishes the end of its first page (3 users): the other replica reads it mid-run.
    const hold = holdSyncAt(gatehouse.gatehouse.store, 3);
    try {
      const running = sync();
      await hold.reached;
      const during = await ok(replica.url, `${USERS}/GetSyncStatus`, {}, adminToken);
      expect(during.currentRun).toMatchObject({ processed: 3 });
      expect(during.currentRun.total).toBeGreaterThan(3);
      expect(new Date(during.currentRun.startTime).getTime()).toBeGreaterThan(0);
      hold.release();
      const finished = await running;
      const after = await ok(replica.url, `${USERS}/GetSyncStatus`, {}, adminToken);
      expect(after.currentRun).toBeUndefined();
      expect(after.lastFullSyncResult.finishTime).toBe(finished.finishTime);
      // The count at the start is what the run went through (no users came or went meanwhile).
      const total = Object.values(counts(finished)).reduce((sum: number, n) => sum + Number(n), 0);
      expect(during.currentRun.total).toBeLessThanOrEqual(total);
    } finally {
      hold.release();
    }
  });

  it('syncs one Keycloak user by username (the drift\'s "only in Keycloak" fix), not as a full run', async () => {
    const lastFull = (await status(false)).lastFullSyncTime;
    const username = uniqueName("single");
    const externalId = await realm.createUser({
      username,
      email: `${username}@example.test`,
      password: PASSWORD,
      attributes: { title: ["Archivist"] },
    });
    expect((await status(true)).onlyInKeycloak).toContain(username);

    const imported = await ok(url, `${USERS}/SyncFromKeycloak`, { username }, adminToken);
    expect(counts(imported)).toEqual({ created: 1, updated: 0, unchanged: 0, disabled: 0, failed: 0 });
    const local = (await ok(url, `${USERS}/ListUsers`, { query: username }, adminToken)).users[0];
    expect(local).toMatchObject({ username, externalId, title: "Archivist" });
    const syncedAt = new Date(local.keycloakSyncDate).getTime();
    expect(syncedAt).toBeGreaterThan(0);
    const after = await status(true);
    expect(after.onlyInKeycloak).not.toContain(username);
    expect(after.lastFullSyncTime).toBe(lastFull);

    await editInKeycloak(externalId, (current) => ({ ...current, firstName: "Renamed" }));
    const updated = await ok(url, `${USERS}/SyncFromKeycloak`, { username }, adminToken);
    expect(counts(updated)).toMatchObject({ created: 0, updated: 1 });
    const renamed = (await ok(url, `${USERS}/GetUser`, { userId: local.id }, adminToken)).user;
    expect(renamed.firstName).toBe("Renamed");
    expect(new Date(renamed.keycloakSyncDate).getTime()).toBeGreaterThanOrEqual(syncedAt);

    expect(
      await fails(url, `${USERS}/SyncFromKeycloak`, { username: uniqueName("absent") }, adminToken),
    ).toMatchObject({ code: "not_found", reason: "keycloak_user_not_found" });
  });

  it("resets a user's MFA by removing the OTP credential in Keycloak; the password alone signs in", async () => {
    const username = uniqueName("lostphone");
    const externalId = await realm.createUser({
      username,
      email: `${username}@example.test`,
      password: PASSWORD,
      otpSecret: "a-test-otp-secret-0123456789",
    });
    await ok(url, `${USERS}/SyncFromKeycloak`, { username }, adminToken);
    const local = (await ok(url, `${USERS}/ListUsers`, { query: username }, adminToken)).users[0];
    expect(local.mfaEnabled).toBe(true);
    expect(
      (await ok(url, `${AUTH}/Login`, { login: username, password: PASSWORD })).mfaChallenge,
    ).toBeDefined();

    const reset = await ok(url, `${USERS}/ResetUserMfa`, { userId: local.id }, adminToken);
    expect(reset.user.mfaEnabled ?? false).toBe(false);
    const credentials = (await realm.admin("GET", `/users/${externalId}/credentials`)).body as Array<{
      type: string;
    }>;
    expect(credentials.map((credential) => credential.type)).toEqual(["password"]);
    const signedIn = await ok(url, `${AUTH}/Login`, { login: username, password: PASSWORD });
    expect(signedIn.mfaChallenge).toBeUndefined();
    expect(signedIn.tokens.accessToken).toBeTruthy();
    expect(await fails(url, `${USERS}/ResetUserMfa`, { userId: local.id }, adminToken)).toMatchObject({
      code: "failed_precondition",
      reason: "mfa_not_enabled",
    });
  });
});
