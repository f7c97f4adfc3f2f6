import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { grpcAddress, loadService } from "../../support/grpc-stubs.ts";
import {
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  ROLES,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  unary,
  uniqueName,
} from "../../support/identity.ts";

const REGISTRY = "gatehouse.v1.ServiceRegistryService";
const ISSUER = "https://id.gatehouse.test";

const webApp = (name = uniqueName("web")) => ({
  clientId: name,
  name: `Web app ${name}`,
  type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
  redirectUris: { uris: ["https://app.example.com/callback", "http://127.0.0.1:8400/cb"] },
  postLogoutRedirectUris: { uris: ["https://app.example.com/"] },
  scopes: { scopes: ["openid", "profile", "email", "offline_access"] },
  backchannelLogoutUri: "https://app.example.com/backchannel-logout",
});

/** The field paths of a failure's google.rpc.BadRequest. */
const violatedFields = (failure: { details: Array<{ type: string; debug: any }> }): string[] =>
  failure.details
    .find((detail) => detail.type === "google.rpc.BadRequest")
    ?.debug?.fieldViolations?.map((violation: { field: string }) => violation.field) ?? [];

describe.each(BACKENDS)("OIDC clients in the registry (%s)", (backend) => {
  let server: TestGatehouse;
  let admin: string;
  let registry: grpc.Client;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: { ...IDENTITY_ENV, ISSUER } });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    registry = new (loadService("gatehouse/v1/service_registry.proto", REGISTRY))(
      grpcAddress(server.url),
      grpc.credentials.createInsecure(),
    );
  });
  afterAll(async () => {
    registry?.close();
    await server?.stop();
  });

  it("registers a confidential client with its secret shown once, and reads, lists, updates and deletes it", async () => {
    const created = await ok(server.url, `${REGISTRY}/CreateOidcClient`, webApp(), admin);
    expect(created.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.client).toMatchObject({
      type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
      grantTypes: ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE", "OIDC_GRANT_TYPE_REFRESH_TOKEN"],
      idTokenSigningAlg: "OIDC_SIGNING_ALGORITHM_RS256",
      tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_CLIENT_SECRET_BASIC",
      firstParty: false,
      disabled: false,
    });
    expect(created.client.secretRotateDate).toBeDefined();
    const id = created.client.id;

    // The secret is never shown again: not by Get (Connect JSON), nor over gRPC.
    const got = await ok(server.url, `${REGISTRY}/GetOidcClient`, { id }, admin);
    expect(JSON.stringify(got)).not.toContain(created.clientSecret);
    expect(got.client).toEqual(created.client);
    const overGrpc = await unary<any>(
      registry,
      "getOidcClient",
      { clientId: created.client.clientId },
      { authorization: `Bearer ${admin}` },
    );
    expect(overGrpc.client).toMatchObject({
      id,
      clientId: created.client.clientId,
      type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
    });
    expect(JSON.stringify(overGrpc)).not.toContain(created.clientSecret);

    const updated = await ok(
      server.url,
      `${REGISTRY}/UpdateOidcClient`,
      {
        id,
        firstParty: true,
        idTokenSigningAlg: "OIDC_SIGNING_ALGORITHM_ES256",
        redirectUris: { uris: ["https://app.example.com/new-callback"] },
      },
      admin,
    );
    expect(updated.client).toMatchObject({
      firstParty: true,
      idTokenSigningAlg: "OIDC_SIGNING_ALGORITHM_ES256",
      redirectUris: ["https://app.example.com/new-callback"],
      postLogoutRedirectUris: ["https://app.example.com/"],
      name: created.client.name,
    });

    await ok(server.url, `${REGISTRY}/DeleteOidcClient`, { id }, admin);
    await ok(server.url, `${REGISTRY}/DeleteOidcClient`, { id }, admin); // idempotent
    expect(await fails(server.url, `${REGISTRY}/GetOidcClient`, { id }, admin)).toMatchObject({
      code: "not_found",
      reason: "oidc_client_not_found",
    });
  });

  it("registers a public client without a secret, and generates a client id when none is given", async () => {
    const created = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      {
        name: "A single-page app",
        type: "OIDC_CLIENT_TYPE_PUBLIC",
        redirectUris: { uris: ["http://localhost:5173/callback"] },
      },
      admin,
    );
    expect(created.clientSecret).toBe("");
    expect(created.client.clientId).toMatch(/^[0-9a-f]{24}$/);
    expect(created.client).toMatchObject({
      tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_NONE",
      scopes: ["openid", "profile", "email"],
    });
    expect(created.client.secretRotateDate).toBeUndefined();
    expect(
      await fails(server.url, `${REGISTRY}/RotateOidcClientSecret`, { id: created.client.id }, admin),
    ).toMatchObject({ code: "failed_precondition", reason: "client_has_no_secret" });
    expect(
      await fails(server.url, `${REGISTRY}/CreateOidcClient`, { ...webApp(created.client.clientId) }, admin),
    ).toMatchObject({ code: "already_exists", reason: "oidc_client_exists" });
  });

  it("rotating the secret returns a new one and invalidates the old one at once", async () => {
    const created = await ok(server.url, `${REGISTRY}/CreateOidcClient`, webApp(), admin);
    const directory = server.gatehouse.oidcClients;
    const clientId = created.client.clientId;
    expect(await directory.verifySecret(clientId, created.clientSecret)).toBe(true);
    const rotated = await ok(
      server.url,
      `${REGISTRY}/RotateOidcClientSecret`,
      { id: created.client.id },
      admin,
    );
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    expect(await directory.verifySecret(clientId, created.clientSecret)).toBe(false);
    expect(await directory.verifySecret(clientId, rotated.clientSecret)).toBe(true);
    // A disabled client is unknown to the provider, and its secret fails.
    await ok(server.url, `${REGISTRY}/UpdateOidcClient`, { id: created.client.id, disabled: true }, admin);
    expect(await directory.find(clientId)).toBeUndefined();
    expect(await directory.verifySecret(clientId, rotated.clientSecret)).toBe(false);
    const audit = await ok(server.url, `${USERS}/ListAuditEvents`, { targetId: created.client.id }, admin);
    expect(audit.events.map((event: any) => event.action)).toEqual(
      expect.arrayContaining(["oidc_clients.create", "oidc_clients.rotate_secret", "oidc_clients.update"]),
    );
  });

  it("refuses bad redirect URIs with INVALID_ARGUMENT naming each one (Connect JSON and gRPC)", async () => {
    const bad = [
      "/relative/callback",
      "http://app.example.com/callback", // plain http off loopback
      "https://app.example.com/callback#fragment",
      "javascript:alert(1)",
      "http://localhost.evil.example/cb",
    ];
    for (const [index, uri] of bad.entries()) {
      const failure = await fails(
        server.url,
        `${REGISTRY}/CreateOidcClient`,
        { ...webApp(), redirectUris: { uris: ["https://app.example.com/ok", uri] } },
        admin,
      );
      expect(failure.code, uri).toBe("invalid_argument");
      expect(violatedFields(failure), `${uri} (${index})`).toContain("redirect_uris.uris[1]");
    }
    const logout = await fails(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      { ...webApp(), postLogoutRedirectUris: { uris: ["http://evil.example/"] } },
      admin,
    );
    expect(violatedFields(logout)).toContain("post_logout_redirect_uris.uris[0]");
    const backchannel = await fails(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      { ...webApp(), backchannelLogoutUri: "https://rp.example/logout#x" },
      admin,
    );
    expect(violatedFields(backchannel)).toContain("backchannel_logout_uri");
    const grpcFailure = await grpcFails(
      registry,
      "createOidcClient",
      { ...webApp(), redirectUris: { uris: ["https://app.example.com/cb#frag"] } },
      { authorization: `Bearer ${admin}` },
    );
    expect(grpcFailure.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("refuses settings that contradict each other, naming the field", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        {
          type: "OIDC_CLIENT_TYPE_PUBLIC",
          tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_CLIENT_SECRET_POST",
        },
        "token_endpoint_auth_method",
      ],
      [
        {
          type: "OIDC_CLIENT_TYPE_CONFIDENTIAL",
          tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_NONE",
        },
        "token_endpoint_auth_method",
      ],
      [
        {
          type: "OIDC_CLIENT_TYPE_PUBLIC",
          tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_NONE",
          grantTypes: { grantTypes: ["OIDC_GRANT_TYPE_CLIENT_CREDENTIALS"] },
          scopes: { scopes: ["openid"] },
        },
        "grant_types",
      ],
      [{ redirectUris: { uris: [] } }, "redirect_uris"],
      [{ tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_PRIVATE_KEY_JWT" }, "jwks"],
      [
        {
          tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_PRIVATE_KEY_JWT",
          jwks: JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b", d: "secret" }] }),
        },
        "jwks",
      ],
      [{ grantTypes: { grantTypes: ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE"] } }, "scopes"], // offline_access without refresh_token
    ];
    for (const [change, field] of cases) {
      const failure = await fails(
        server.url,
        `${REGISTRY}/CreateOidcClient`,
        { ...webApp(), ...change },
        admin,
      );
      expect(failure, JSON.stringify(change)).toMatchObject({ code: "invalid_argument" });
      expect(violatedFields(failure), JSON.stringify(change)).toContain(field);
    }
    // A private_key_jwt client with public keys is fine, and gets no secret.
    const withKeys = await ok(
      server.url,
      `${REGISTRY}/CreateOidcClient`,
      {
        ...webApp(),
        tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_PRIVATE_KEY_JWT",
        jwks: JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b" }] }),
      },
      admin,
    );
    expect(withKeys.clientSecret).toBe("");
  });

  it("pages through the clients with keyset page tokens", async () => {
    for (let index = 0; index < 3; index++)
      await ok(server.url, `${REGISTRY}/CreateOidcClient`, webApp(), admin);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await ok(server.url, `${REGISTRY}/ListOidcClients`, { pageSize: 2, pageToken }, admin);
      expect(page.clients.length).toBeLessThanOrEqual(2);
      seen.push(...page.clients.map((client: any) => client.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(
      await fails(server.url, `${REGISTRY}/ListOidcClients`, { pageToken: "not-a-token" }, admin),
    ).toMatchObject({ code: "invalid_argument" });
  });

  it("denies callers without clients.read / clients.write, and gives them to a role that names them", async () => {
    const user = await signUpAndLogin(server.url);
    const token = user.tokens.accessToken;
    expect(await fails(server.url, `${REGISTRY}/ListOidcClients`, {}, token)).toMatchObject({
      code: "permission_denied",
    });
    expect(await fails(server.url, `${REGISTRY}/CreateOidcClient`, webApp(), token)).toMatchObject({
      code: "permission_denied",
    });
    const grpcDenied = await grpcFails(registry, "listOidcClients", {}, { authorization: `Bearer ${token}` });
    expect(grpcDenied.code).toBe(grpc.status.PERMISSION_DENIED);
    // services.write is not enough: clients are their own permission.
    const role = (
      await ok(
        server.url,
        `${ROLES}/CreateRole`,
        { name: uniqueName("reader"), permissions: { permissions: ["services.write", "clients.read"] } },
        admin,
      )
    ).role;
    await ok(server.url, `${USERS}/SetUserRoles`, { userId: user.id, roles: ["user", role.name] }, admin);
    const reader = (await loginTokens(server.url, user.username, user.password)).accessToken;
    await ok(server.url, `${REGISTRY}/ListOidcClients`, {}, reader);
    expect(await fails(server.url, `${REGISTRY}/CreateOidcClient`, webApp(), reader)).toMatchObject({
      code: "permission_denied",
    });
    const unauthenticated = await postJson(server.url, `${REGISTRY}/ListOidcClients`, {});
    expect(unauthenticated.body.code).toBe("unauthenticated");
  });

  it("registers the console as a first-party public client at start, once, and refuses to delete it", async () => {
    const consoleClient = (
      await ok(server.url, `${REGISTRY}/GetOidcClient`, { clientId: "gatehouse-console" }, admin)
    ).client;
    const issuer = ISSUER;
    expect(consoleClient).toMatchObject({
      type: "OIDC_CLIENT_TYPE_PUBLIC",
      firstParty: true,
      redirectUris: [`${issuer}/console/callback`, `${issuer}/account/callback`],
      postLogoutRedirectUris: [`${issuer}/console/`, `${issuer}/account/`],
      grantTypes: ["OIDC_GRANT_TYPE_AUTHORIZATION_CODE", "OIDC_GRANT_TYPE_REFRESH_TOKEN"],
      scopes: ["openid", "profile", "email", "phone", "offline_access"],
      tokenEndpointAuthMethod: "OIDC_TOKEN_ENDPOINT_AUTH_METHOD_NONE",
    });
    expect(
      await fails(server.url, `${REGISTRY}/DeleteOidcClient`, { id: consoleClient.id }, admin),
    ).toMatchObject({ code: "failed_precondition", reason: "managed_client" });
    // Two more replicas starting at once on the same database make no second row (PGlite has one process).
    if (backend !== "postgres") return;
    const [second, third] = await Promise.all([
      startTestGatehouse({ backend, shareWith: server }),
      startTestGatehouse({ backend, shareWith: server }),
    ]);
    try {
      const all: any[] = [];
      let pageToken = "";
      do {
        const page = await ok(second.url, `${REGISTRY}/ListOidcClients`, { pageSize: 500, pageToken }, admin);
        all.push(...page.clients);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(
        all.filter((client) => client.clientId === "gatehouse-console").map((client) => client.id),
      ).toEqual([consoleClient.id]);
    } finally {
      await second.stop();
      await third.stop();
    }
  });
});
