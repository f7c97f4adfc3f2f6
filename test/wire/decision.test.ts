import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  authorizationClient,
  errorReason,
  grpc,
  grpcAddress,
  loadService,
  unary,
} from "../support/grpc-stubs.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";

/**
 * One table, two front doors: every case goes through Envoy's
 * Authorization/Check (grpc-js stubs built from Envoy's own protos, requests
 * shaped as Envoy sends them) and through AuthService.VerifyToken, and the two
 * must agree.
 */

type Expectation =
  | { readonly allow: true; readonly role: string }
  | { readonly deny: 401 | 403; readonly reasons: readonly string[] };

interface Case {
  readonly name: string;
  /** The raw authorization header, or undefined for none. */
  readonly authorization: () => string | undefined;
  /** context_extensions.service; undefined routes by host. */
  readonly service: () => string | undefined;
  readonly host?: () => string;
  readonly requiredRole?: string;
  readonly extraHeaders?: Record<string, string>;
  readonly expect: Expectation;
  /** Cases about the header itself have no VerifyToken twin. */
  readonly headerOnly?: boolean;
  /** The expected upstream identity on allow. */
  readonly principal?: () => { id: string; name: string; session: boolean };
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("one decision for Check and VerifyToken (PostgreSQL + Redis)", () => {
  let server: TestGatehouse;
  let shortLived: TestGatehouse;
  let authz: grpc.Client;
  let auth: grpc.Client;
  const t: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, CLOCK_SKEW_SECONDS: "0" },
    });
    // A second replica on the same data, issuing one-second tokens (for the expired case).
    shortLived = await startTestGatehouse({
      backend: "postgres",
      shareWith: server,
      env: { ACCESS_TOKEN_TTL_SECONDS: "1" },
    });
    const url = server.url;
    const admin = (await loginTokens(url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;

    const billing = await createService(url, admin, {
      hosts: { hosts: [`${uniqueName("billing")}.internal`] },
    });
    const ledger = await createService(url, admin);
    const billingHost = (
      await ok(url, "gatehouse.v1.ServiceRegistryService/GetService", { serviceId: billing.id }, admin)
    ).service.hosts[0];
    Object.assign(ids, { billing: billing.slug, billingId: billing.id, ledger: ledger.slug, billingHost });

    const alice = await createUser(url, admin);
    await setGrants(url, admin, alice.id, [{ serviceId: billing.id, role: "editor" }]);
    ids.alice = alice.id;
    ids.aliceName = alice.username;
    const aliceTokens = await loginTokens(url, alice.username, alice.password);
    t.alice = aliceTokens.accessToken;
    t.aliceSession = aliceTokens.sessionId;

    // Bob reaches the ledger only through a business role.
    const bob = await createUser(url, admin);
    const businessRole = await ok(
      url,
      "gatehouse.v1.RoleService/CreateBusinessRole",
      { name: uniqueName("auditors"), grants: [{ serviceId: ledger.id, role: "viewer" }] },
      admin,
    );
    await ok(
      url,
      "gatehouse.v1.UserService/SetUserBusinessRoles",
      { userId: bob.id, businessRoleIds: [businessRole.businessRole.id] },
      admin,
    );
    ids.bob = bob.id;
    ids.bobName = bob.username;
    t.bob = (await loginTokens(url, bob.username, bob.password)).accessToken;

    const carol = await createUser(url, admin);
    await setGrants(url, admin, carol.id, [{ serviceId: billing.id, role: "owner" }]);
    const carolTokens = await loginTokens(url, carol.username, carol.password);
    t.revoked = carolTokens.accessToken;
    await ok(url, "gatehouse.v1.AuthService/Logout", { refreshToken: carolTokens.refreshToken });

    const dave = await createUser(url, admin);
    await setGrants(url, admin, dave.id, [{ serviceId: billing.id, role: "owner" }]);
    t.disabled = (await loginTokens(url, dave.username, dave.password)).accessToken;
    await ok(
      url,
      "gatehouse.v1.UserService/UpdateUser",
      { userId: dave.id, status: "USER_STATUS_DISABLED" },
      admin,
    );

    const account = await ok(
      url,
      "gatehouse.v1.ServiceRegistryService/CreateServiceAccount",
      { name: uniqueName("reporting"), grants: [{ serviceId: billing.id, role: "viewer" }] },
      admin,
    );
    ids.account = account.serviceAccount.id;
    ids.accountClient = account.serviceAccount.clientId;
    t.account = (
      await ok(url, "gatehouse.v1.AuthService/ClientCredentialsToken", {
        clientId: account.serviceAccount.clientId,
        clientSecret: account.clientSecret,
      })
    ).tokens.accessToken;

    const [header, payload, signature] = t.alice.split(".") as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === "A" ? "B" : "A") + signature.slice(11);
    t.forged = `${header}.${payload}.${flipped}`;
    t.none = `${base64url({ alg: "none", typ: "at+jwt" })}.${payload}.`;

    t.expired = (await loginTokens(shortLived.url, alice.username, alice.password)).accessToken;
    const expiry = JSON.parse(Buffer.from(t.expired.split(".")[1]!, "base64url").toString()).exp as number;
    while (Date.now() / 1000 <= expiry + 1) await new Promise((resolve) => setTimeout(resolve, 100));

    authz = authorizationClient(server.url);
    const AuthService = loadService("gatehouse/v1/auth.proto", "gatehouse.v1.AuthService");
    auth = new AuthService(grpcAddress(server.url), grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    authz?.close();
    auth?.close();
    await shortLived?.stop();
    await server?.stop();
  });

  const bearer = (name: string) => () => `Bearer ${t[name]}`;
  const alice = () => ({ id: ids.alice!, name: ids.aliceName!, session: true });
  const cases: Case[] = [
    {
      name: "valid token with access",
      authorization: bearer("alice"),
      service: () => ids.billing,
      requiredRole: "viewer",
      expect: { allow: true, role: "editor" },
      principal: alice,
    },
    {
      name: "spoofed identity headers are replaced",
      authorization: bearer("alice"),
      service: () => ids.billing,
      extraHeaders: { "x-gatehouse-user-id": "attacker", "x-gatehouse-service-role": "owner" },
      expect: { allow: true, role: "editor" },
      principal: alice,
    },
    {
      // Asked right after the same question with the clean header (remembered by now): a
      // remembered answer is only for the very token it was made for.
      name: "a remembered token with junk after it is a malformed header",
      authorization: () => `Bearer ${t.alice}%`,
      service: () => ids.billing,
      requiredRole: "viewer",
      headerOnly: true,
      expect: { deny: 401, reasons: ["malformed_authorization"] },
    },
    {
      name: "a remembered token after a doubled space is still that token",
      authorization: () => `Bearer  ${t.alice}`,
      service: () => ids.billing,
      requiredRole: "viewer",
      headerOnly: true,
      expect: { allow: true, role: "editor" },
      principal: alice,
    },
    {
      name: "service found by the request's host",
      authorization: bearer("alice"),
      service: () => undefined,
      host: () => ids.billingHost!,
      expect: { allow: true, role: "editor" },
      principal: alice,
    },
    {
      name: "grant through a business role",
      authorization: bearer("bob"),
      service: () => ids.ledger,
      expect: { allow: true, role: "viewer" },
      principal: () => ({ id: ids.bob!, name: ids.bobName!, session: true }),
    },
    {
      name: "service-account token with a grant",
      authorization: bearer("account"),
      service: () => ids.billing,
      expect: { allow: true, role: "viewer" },
      principal: () => ({ id: ids.account!, name: ids.accountClient!, session: false }),
    },
    {
      name: "role below the route's required_role",
      authorization: bearer("alice"),
      service: () => ids.billing,
      requiredRole: "owner",
      expect: { deny: 403, reasons: ["insufficient_role"] },
    },
    {
      name: "token for service A used at service B",
      authorization: bearer("alice"),
      service: () => ids.ledger,
      expect: { deny: 403, reasons: ["no_grant"] },
    },
    {
      name: "unknown service",
      authorization: bearer("alice"),
      service: () => randomUUID(),
      expect: { deny: 403, reasons: ["unknown_service"] },
    },
    {
      name: "no token",
      authorization: () => undefined,
      service: () => ids.billing,
      headerOnly: true,
      expect: { deny: 401, reasons: ["missing_token"] },
    },
    {
      name: "malformed authorization header",
      authorization: () => `Basic ${Buffer.from("alice:secret").toString("base64")}`,
      service: () => ids.billing,
      headerOnly: true,
      expect: { deny: 401, reasons: ["malformed_authorization"] },
    },
    {
      name: "expired token",
      authorization: bearer("expired"),
      service: () => ids.billing,
      expect: { deny: 401, reasons: ["token_expired"] },
    },
    {
      name: "forged signature",
      authorization: bearer("forged"),
      service: () => ids.billing,
      expect: { deny: 401, reasons: ["invalid_signature"] },
    },
    {
      name: "alg: none",
      authorization: bearer("none"),
      service: () => ids.billing,
      expect: { deny: 401, reasons: ["unsupported_algorithm", "malformed_token"] },
    },
    {
      name: "revoked session (logged out)",
      authorization: bearer("revoked"),
      service: () => ids.billing,
      expect: { deny: 401, reasons: ["session_revoked"] },
    },
    {
      name: "disabled user",
      authorization: bearer("disabled"),
      service: () => ids.billing,
      expect: { deny: 401, reasons: ["account_disabled", "subject_revoked", "session_revoked"] },
    },
  ];

  function envoyRequest(testCase: Case) {
    const headers: Record<string, string> = {
      ":authority": testCase.host?.() ?? "gateway.internal",
      ":method": "GET",
      ":path": "/invoices?page=2",
      ":scheme": "http",
      "x-request-id": randomUUID(),
      "user-agent": "curl/8.5.0",
      ...testCase.extraHeaders,
    };
    const authorization = testCase.authorization();
    if (authorization !== undefined) headers.authorization = authorization;
    const service = testCase.service();
    const contextExtensions: Record<string, string> = {};
    if (service !== undefined) contextExtensions.service = service;
    if (testCase.requiredRole !== undefined) contextExtensions.required_role = testCase.requiredRole;
    return {
      attributes: {
        source: { address: { socketAddress: { address: "10.1.2.3", portValue: 41234 } } },
        destination: { address: { socketAddress: { address: "10.1.2.4", portValue: 8080 } } },
        request: {
          time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
          http: {
            id: "1234567890",
            method: "GET",
            headers,
            path: "/invoices?page=2",
            host: headers[":authority"],
            scheme: "http",
            protocol: "HTTP/1.1",
          },
        },
        contextExtensions,
      },
    };
  }

  const headerValue = (list: any[], key: string) => list.find((option) => option.header.key === key);

  it.each(cases.map((testCase) => [testCase.name, testCase] as const))(
    "Check: %s",
    async (_name, testCase) => {
      const response: any = await unary(authz, "check", envoyRequest(testCase));
      if ("allow" in testCase.expect) {
        expect(response.status.code).toBe(0);
        expect(response.httpResponse).toBe("okResponse");
        const headers = response.okResponse.headers;
        for (const option of headers) expect(option.appendAction).toBe("OVERWRITE_IF_EXISTS_OR_ADD");
        const principal = testCase.principal!();
        expect(headerValue(headers, "x-gatehouse-user-id").header.value).toBe(principal.id);
        expect(headerValue(headers, "x-gatehouse-username").header.value).toBe(principal.name);
        expect(headerValue(headers, "x-gatehouse-service-role").header.value).toBe(testCase.expect.role);
        if (principal.session) {
          expect(headerValue(headers, "x-gatehouse-session-id").header.value).toMatch(/.+/);
        } else {
          expect(headerValue(headers, "x-gatehouse-session-id")).toBeUndefined();
          expect(response.okResponse.headersToRemove).toContain("x-gatehouse-session-id");
        }
        expect(response.dynamicMetadata.fields.service_role.stringValue).toBe(testCase.expect.role);
      } else {
        const { deny, reasons } = testCase.expect;
        expect(response.status.code).toBe(deny === 401 ? 16 : 7);
        expect(response.httpResponse).toBe("deniedResponse");
        expect(response.deniedResponse.status.code).toBe(deny === 401 ? "Unauthorized" : "Forbidden");
        const body = JSON.parse(response.deniedResponse.body);
        expect(reasons).toContain(body.reason);
        const challenge = headerValue(response.deniedResponse.headers, "www-authenticate");
        if (deny === 401) {
          expect(challenge.header.value).toMatch(/^Bearer /);
          if (!reasons.includes("missing_token"))
            expect(challenge.header.value).toContain('error="invalid_token"');
        } else {
          expect(challenge).toBeUndefined();
        }
        expect(headerValue(response.deniedResponse.headers, "content-type").header.value).toBe(
          "application/json",
        );
      }
    },
  );

  it.each(cases.filter((c) => !c.headerOnly).map((testCase) => [testCase.name, testCase] as const))(
    "VerifyToken agrees: %s",
    async (_name, testCase) => {
      const token = testCase.authorization()!.replace(/^Bearer /, "");
      const service = testCase.service();
      const serviceId =
        service === undefined
          ? ids.billingId!
          : service === ids.billing
            ? ids.billingId!
            : service === ids.ledger
              ? await serviceIdOf(ids.ledger!)
              : service;
      const request = { token, serviceId, requiredRole: testCase.requiredRole ?? "" };
      if ("deny" in testCase.expect && testCase.expect.deny === 401) {
        const error: any = await unary(auth, "verifyToken", request).catch((e) => e);
        expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(testCase.expect.reasons).toContain(await errorReason(error));
        return;
      }
      const response: any = await unary(auth, "verifyToken", request);
      if ("allow" in testCase.expect) {
        expect(response.serviceAccess).toMatchObject({
          granted: true,
          role: testCase.expect.role,
          denialReason: "",
        });
        expect(response.user.id).toBe(testCase.principal!().id);
      } else {
        expect(response.serviceAccess.granted).toBe(false);
        expect(testCase.expect.reasons).toContain(response.serviceAccess.denialReason);
      }
    },
  );

  const serviceIdCache = new Map<string, string>();
  async function serviceIdOf(slug: string): Promise<string> {
    if (!serviceIdCache.has(slug)) {
      const admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
      const response = await ok(
        server.url,
        "gatehouse.v1.ServiceRegistryService/GetService",
        { slug },
        admin,
      );
      serviceIdCache.set(slug, response.service.id);
    }
    return serviceIdCache.get(slug)!;
  }
});
