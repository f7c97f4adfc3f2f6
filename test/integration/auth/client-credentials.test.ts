import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { createService } from "../../support/fixtures.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  TEST_ADMIN,
  USERS,
  unary,
  uniqueName,
} from "../../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";

describe.each(BACKENDS)("service accounts and client credentials (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;
  let admin: string;

  beforeAll(async () => {
    // Services only: no self-service sign-up on this server.
    server = await startTestGatehouse({ backend, env: { ...IDENTITY_ENV, SIGNUP_ENABLED: "false" } });
    clients = identityClients(server.url);
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  const token = (clientId: string, clientSecret: string) =>
    ok(server.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret });

  /** Service accounts are administered through the registry (ServiceAccountService behind it). */
  const accounts = {
    async create(name: string): Promise<{ account: any; clientSecret: string }> {
      const response = await ok(
        server.url,
        `${REGISTRY}/CreateServiceAccount`,
        { name, description: name },
        admin,
      );
      return { account: response.serviceAccount, clientSecret: response.clientSecret };
    },
    rotate: async (id: string): Promise<string> =>
      (await ok(server.url, `${REGISTRY}/RotateServiceAccountSecret`, { serviceAccountId: id }, admin))
        .clientSecret,
    disable: (id: string) =>
      ok(server.url, `${REGISTRY}/UpdateServiceAccount`, { serviceAccountId: id, disabled: true }, admin),
    delete: (id: string) =>
      ok(server.url, `${REGISTRY}/DeleteServiceAccount`, { serviceAccountId: id }, admin),
  };

  it("refuses a scope rather than drop it (the built-in provider issues no scoped tokens)", async () => {
    const { account, clientSecret } = await accounts.create(uniqueName("scoped"));
    expect(
      await fails(server.url, `${AUTH}/ClientCredentialsToken`, {
        clientId: account.clientId,
        clientSecret,
        scope: "orders:read",
      }),
    ).toMatchObject({ code: "invalid_argument", reason: "scope_not_supported" });
    await token(account.clientId, clientSecret);
  });

  it("issues service-account tokens for the right secret only, and audits both", async () => {
    const { account, clientSecret } = await accounts.create(uniqueName("billing"));
    expect(account.clientId).toBe(account.name);
    expect(account.disabled).toBeFalsy();
    const issued = (
      await unary<any>(clients.auth, "clientCredentialsToken", { clientId: account.clientId, clientSecret })
    ).tokens;
    expect(issued).toMatchObject({ tokenType: "Bearer", refreshToken: "" });
    expect(decodeJwt(issued.accessToken)).toMatchObject({
      sub: account.id,
      client_id: account.clientId,
      gh_kind: "service_account",
    });
    expect(decodeJwt(issued.accessToken)).not.toHaveProperty("sid");
    // A valid principal, but not a user: no profile.
    expect(await fails(server.url, `${AUTH}/GetMe`, {}, issued.accessToken)).toMatchObject({
      code: "permission_denied",
      reason: "not_a_user",
    });

    expect(
      await fails(server.url, `${AUTH}/ClientCredentialsToken`, {
        clientId: account.clientId,
        clientSecret: "x".repeat(43),
      }),
    ).toMatchObject({
      code: "unauthenticated",
      reason: "invalid_client",
    });
    expect(
      await grpcFails(clients.auth, "clientCredentialsToken", { clientId: "no-such-client", clientSecret }),
    ).toEqual({ code: grpc.status.UNAUTHENTICATED, reason: "invalid_client" });

    const admin = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    const events = (
      await ok(
        server.url,
        `${USERS}/ListAuditEvents`,
        { action: "auth.client_credentials" },
        admin.accessToken,
      )
    ).events;
    expect(events.map((event: any) => `${event.result}:${event.reason ?? ""}`)).toEqual(
      expect.arrayContaining(["success:", "failure:invalid_client"]),
    );
    expect(events.find((event: any) => event.result === "success")).toMatchObject({
      actorId: account.id,
      actorKind: "service_account",
    });
  });

  it("rotating the secret stops the old one; disabling or deleting rejects the account's tokens at once", async () => {
    const { account, clientSecret } = await accounts.create(uniqueName("tickets"));
    const rotated = await accounts.rotate(account.id);
    expect(rotated).not.toBe(clientSecret);
    expect(
      (
        await fails(server.url, `${AUTH}/ClientCredentialsToken`, {
          clientId: account.clientId,
          clientSecret,
        })
      ).reason,
    ).toBe("invalid_client");
    const live = (await token(account.clientId, rotated)).tokens.accessToken;
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, live)).reason).toBe("not_a_user");

    await accounts.disable(account.id);
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, live)).code).toBe("unauthenticated");
    expect(
      (
        await fails(server.url, `${AUTH}/ClientCredentialsToken`, {
          clientId: account.clientId,
          clientSecret: rotated,
        })
      ).reason,
    ).toBe("invalid_client");

    const other = await accounts.create(uniqueName("search"));
    const otherToken = (await token(other.account.clientId, other.clientSecret)).tokens.accessToken;
    await accounts.delete(other.account.id);
    await accounts.delete(other.account.id);
    expect((await fails(server.url, `${AUTH}/GetMe`, {}, otherToken)).code).toBe("unauthenticated");
    expect(
      (
        await fails(
          server.url,
          `${REGISTRY}/GetServiceAccount`,
          { serviceAccountId: other.account.id },
          admin,
        )
      ).code,
    ).toBe("not_found");
  });

  it("refuses sign-up when SIGNUP_ENABLED is false", async () => {
    expect(
      await fails(server.url, `${AUTH}/SignUp`, {
        username: uniqueName("walk-in"),
        email: `${uniqueName("walk-in")}@example.test`,
        password: "Walk-in-pass-123",
        firstName: "W",
        lastName: "I",
      }),
    ).toMatchObject({ code: "failed_precondition", reason: "signup_disabled" });
  });

  it("lists accounts with keyset pagination and refuses duplicate names", async () => {
    const names = [uniqueName("a"), uniqueName("b"), uniqueName("c")];
    for (const name of names) await accounts.create(name);
    expect(
      (await fails(server.url, `${REGISTRY}/CreateServiceAccount`, { name: names[0] }, admin)).code,
    ).toBe("already_exists");
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await ok(server.url, `${REGISTRY}/ListServiceAccounts`, { pageSize: 2, pageToken }, admin);
      seen.push(...page.serviceAccounts.map((account: any) => account.name));
      pageToken = page.nextPageToken ?? "";
    } while (pageToken !== "");
    expect(seen).toEqual(expect.arrayContaining(names));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

// Two replicas on one PostgreSQL and Redis: the rotation is made on one, the old tokens are tried on the other.
describe("rotating a service account's secret revokes the tokens issued under the old one", () => {
  let first: TestGatehouse;
  let second: TestGatehouse;
  let admin: string;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    first = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
    admin = (await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    service = await createService(first.url, admin);
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  /** A service account granted `viewer` on the service, and a token from its secret. */
  async function grantedAccount() {
    const created = await ok(
      first.url,
      `${REGISTRY}/CreateServiceAccount`,
      { name: uniqueName("batch"), grants: [{ serviceId: service.id, role: "viewer" }] },
      admin,
    );
    const { clientId } = created.serviceAccount;
    const issue = async (clientSecret: string): Promise<string> =>
      (await ok(first.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret })).tokens.accessToken;
    return { id: created.serviceAccount.id as string, issue, token: await issue(created.clientSecret) };
  }

  /** Check's gRPC status code (0 allowed, 16 unauthenticated) and VerifyToken's answer, on the second replica. */
  async function onSecond(token: string): Promise<{ check: number; verify: string }> {
    const check = await postJson(second.url, "envoy.service.auth.v3.Authorization/Check", {
      attributes: {
        request: { http: { headers: { authorization: `Bearer ${token}` } } },
        contextExtensions: { service: service.slug },
      },
    });
    const verify = await postJson(second.url, `${AUTH}/VerifyToken`, { token, serviceId: service.id });
    return {
      check: (check.body.status as { code?: number }).code ?? 0,
      verify: verify.status === 200 ? "ok" : String(verify.body.code),
    };
  }

  async function deniedEventually(token: string): Promise<{ check: number; verify: string }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const answer = await onSecond(token);
      if ((answer.check !== 0 && answer.verify !== "ok") || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("by default: the old tokens are denied by Check and VerifyToken on every replica; the new secret's work at once", async () => {
    const account = await grantedAccount();
    expect(await onSecond(account.token)).toEqual({ check: 0, verify: "ok" });
    const rotated = await ok(
      first.url,
      `${REGISTRY}/RotateServiceAccountSecret`,
      { serviceAccountId: account.id },
      admin,
    );
    expect(await deniedEventually(account.token)).toEqual({ check: 16, verify: "unauthenticated" });
    const fresh = await account.issue(rotated.clientSecret);
    expect(await onSecond(fresh)).toEqual({ check: 0, verify: "ok" });
    const events = (
      await ok(
        first.url,
        `${USERS}/ListAuditEvents`,
        { targetId: account.id, action: "service_accounts.rotate_secret" },
        admin,
      )
    ).events;
    expect(events[0]?.details).toMatchObject({ issued_tokens: "revoked" });
  });

  it("with keep_issued_tokens: the old tokens live on until they expire", async () => {
    const account = await grantedAccount();
    const rotated = await ok(
      first.url,
      `${REGISTRY}/RotateServiceAccountSecret`,
      { serviceAccountId: account.id, keepIssuedTokens: true },
      admin,
    );
    const fresh = await account.issue(rotated.clientSecret);
    // The fresh token proves the feed has had time to carry anything the rotation published.
    expect(await onSecond(fresh)).toEqual({ check: 0, verify: "ok" });
    expect(await onSecond(account.token)).toEqual({ check: 0, verify: "ok" });
  });
});
