import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.ts";
import { createService } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../support/identity.ts";

describe("Connect JSON requests and responses", () => {
  let server: TestGatehouse;
  let admin: string;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded", env: { ...IDENTITY_ENV, CORS_ORIGINS: "*" } });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses an unknown field with INVALID_ARGUMENT naming it, and does nothing", async () => {
    const username = uniqueName("typo");
    const failure = await fails(
      server.url,
      `${USERS}/CreateUser`,
      { username, email: `${username}@example.test`, passwrd: "Typo-in-field-123" },
      admin,
    );
    expect(failure).toMatchObject({ status: 400, code: "invalid_argument" });
    expect(failure.message).toContain('"passwrd"');
    const listed = await ok(server.url, `${USERS}/ListUsers`, { query: username }, admin);
    expect(listed.users).toEqual([]);
    // Nested messages too.
    expect(
      (await fails(server.url, `${AUTH}/UpdateMe`, { changes: { firstname: "Typo" } }, admin)).message,
    ).toContain('"firstname"');
  });

  it("writes false, 0 and empty fields out", async () => {
    const service = await createService(server.url, admin);
    const verified = await ok(server.url, `${AUTH}/VerifyToken`, {
      token: (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken,
      serviceId: service.id,
      requiredRole: "owner",
    });
    // The administrator holds no grant on the new service.
    expect(verified.serviceAccess).toMatchObject({ granted: false, role: "", denialReason: "no_grant" });
    expect(verified.user).toMatchObject({ mfaEnabled: false, middleName: "", links: [] });
    const page = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { since: new Date(Date.now() + 60_000) },
      admin,
    );
    expect(page).toEqual({ events: [], nextPageToken: "" });
  });

  it("VerifyToken names the service by slug as well as by id, not both", async () => {
    const service = await createService(server.url, admin);
    const token = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const bySlug = await ok(server.url, `${AUTH}/VerifyToken`, { token, serviceSlug: service.slug });
    const byId = await ok(server.url, `${AUTH}/VerifyToken`, { token, serviceId: service.id });
    expect(bySlug.serviceAccess).toEqual(byId.serviceAccess);
    expect(bySlug.serviceAccess).toMatchObject({ serviceId: service.id, serviceStatus: "active" });
    expect(
      await fails(server.url, `${AUTH}/VerifyToken`, {
        token,
        serviceId: service.id,
        serviceSlug: service.slug,
      }),
    ).toMatchObject({ code: "invalid_argument" });
    const unknown = await ok(server.url, `${AUTH}/VerifyToken`, { token, serviceSlug: "no-such-service" });
    expect(unknown.serviceAccess).toMatchObject({ granted: false, denialReason: "unknown_service" });
  });

  it('never allows the "null" origin, even with CORS_ORIGINS=*', async () => {
    const call = (origin: string) =>
      fetch(`${server.url}/${AUTH}/Login`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
    expect((await call("https://any.example")).headers.get("access-control-allow-origin")).toBe(
      "https://any.example",
    );
    const denied = await call("null");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const post = await postJson(server.url, `${AUTH}/GetMe`, {}, { origin: "null" });
    expect(post.headers.get("access-control-allow-origin")).toBeNull();
  });
});
