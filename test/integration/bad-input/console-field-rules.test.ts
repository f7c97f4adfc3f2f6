import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  CreateBusinessRoleRequestSchema,
  CreateRoleRequestSchema,
} from "../../../src/gen/gatehouse/v1/role_pb.js";
import {
  CreateOidcClientRequestSchema,
  CreateServiceRequestSchema,
  HostListSchema,
  OidcClientType,
  RedirectUriListSchema,
  RoleListSchema,
} from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { createRequestValidator } from "../../../src/rpc/interceptors/request-validator.ts";
import {
  backchannelLogoutUriRule,
  clientIdRule,
  hostRule,
  nameRule,
  type Rule,
  redirectUriRule,
  roleNameRule,
  serviceRoleRule,
  slugRule,
} from "../../../web/src/api/field-rules.ts";

/**
 * The console checks the protos' rules before it calls (web/src/api/field-rules.ts); this holds
 * each of its checks to the server's own protovalidate verdict on the same values, so the two
 * cannot drift apart: a value the console refuses, the server refuses, and the other way round.
 */
const validate = createRequestValidator();

function serverAccepts<D extends DescMessage>(schema: D, init: MessageInitShape<D>): boolean {
  try {
    validate(schema, create(schema, init));
    return true;
  } catch {
    return false;
  }
}

const cases: Array<{ rule: string; check: Rule; server: (value: string) => boolean; values: string[] }> = [
  {
    rule: "service slug (CreateServiceRequest.slug)",
    check: slugRule,
    server: (slug) => serverAccepts(CreateServiceRequestSchema, { slug, displayName: "Billing" }),
    values: [
      "billing",
      "b2",
      "a",
      "Billing",
      "2fa",
      "bill_ing",
      "bill-ing",
      `b${"x".repeat(62)}`,
      `b${"x".repeat(63)}`,
    ],
  },
  {
    rule: "RBAC role name (CreateRoleRequest.name)",
    check: roleNameRule,
    server: (name) => serverAccepts(CreateRoleRequestSchema, { name }),
    values: [
      "support",
      "s",
      "ops.lead",
      "ops_lead",
      "Ops",
      "1st",
      "with space",
      `r${"x".repeat(63)}`,
      `r${"x".repeat(64)}`,
    ],
  },
  {
    rule: "a service's role (RoleList.roles[])",
    check: serviceRoleRule,
    server: (role) => serverAccepts(RoleListSchema, { roles: [role] }),
    values: ["viewer", "v", "owner.full", "Owner", "9", "-x", `r${"x".repeat(62)}`, `r${"x".repeat(63)}`],
  },
  {
    rule: "a service's host (HostList.hosts[])",
    check: hostRule,
    server: (host) => serverAccepts(HostListSchema, { hosts: [host] }),
    values: [
      "api.internal",
      "api.internal:8443",
      "API.internal",
      "api internal",
      "api:",
      "api:123456",
      "10.0.0.1",
    ],
  },
  {
    rule: "OIDC client id (CreateOidcClientRequest.client_id)",
    check: clientIdRule,
    server: (clientId) =>
      serverAccepts(CreateOidcClientRequestSchema, { clientId, name: "App", type: OidcClientType.PUBLIC }),
    values: [
      "",
      "app",
      "ab",
      "billing-web",
      "billing.web_2",
      "-app",
      "App",
      `a${"x".repeat(63)}`,
      `a${"x".repeat(64)}`,
    ],
  },
  {
    rule: "business role name (CreateBusinessRoleRequest.name)",
    check: nameRule,
    server: (name) => serverAccepts(CreateBusinessRoleRequestSchema, { name }),
    values: ["Support agent", "", "x".repeat(128), "x".repeat(129), "two\nlines"],
  },
  {
    rule: "redirect URI (RedirectUriList.uris[])",
    check: redirectUriRule,
    server: (uri) => serverAccepts(RedirectUriListSchema, { uris: [uri] }),
    values: [
      "https://app.example.test/callback",
      "https://app.example.test/cb?x=1",
      "http://localhost:3000/callback",
      "http://localhost",
      "http://127.0.0.1/cb",
      "http://[::1]:8080/",
      "http://localhost.evil.test/cb",
      "http://app.example.test/callback",
      "https://app.example.test/cb#fragment",
      "ftp://files.example.test/",
      "not a uri",
      "/relative/callback",
    ],
  },
  {
    rule: "back-channel logout URI (CreateOidcClientRequest.backchannel_logout_uri)",
    check: backchannelLogoutUriRule,
    server: (backchannelLogoutUri) =>
      serverAccepts(CreateOidcClientRequestSchema, {
        name: "App",
        type: OidcClientType.CONFIDENTIAL,
        backchannelLogoutUri,
      }),
    values: [
      "",
      "https://app.example.test/backchannel",
      "http://app.example.test/backchannel",
      "https://app.example.test/b#frag",
      "ftp://app.example.test/",
      "relative",
    ],
  },
];

describe("the console's field checks agree with the server's protovalidate rules", () => {
  for (const { rule, check, server, values } of cases) {
    it(rule, () => {
      const verdicts = values.map((value) => ({
        value,
        console: check(value) === undefined,
        server: server(value),
      }));
      // Both answers are seen for each rule: the samples test the boundary, not one side of it.
      expect(new Set(verdicts.map((v) => v.server))).toEqual(new Set([true, false]));
      expect(verdicts.filter((v) => v.console !== v.server)).toEqual([]);
    });
  }
});
