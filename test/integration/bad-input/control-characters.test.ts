import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_SERVICES } from "../../../src/rpc/routes.ts";
import { postJson } from "../../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, loginTokens, TEST_ADMIN } from "../../support/identity.ts";

/** One string field of a request, reached from the request root. */
interface StringFieldCase {
  /** The field's path as protovalidate names it (proto names, `[0]` for the first item). */
  readonly path: string;
  readonly field: DescField;
  /** Builds a JSON request with `value` in that field and nothing else set. */
  readonly body: (value: string) => Record<string, unknown>;
}

/** Every string field (single, repeated, nested), each as a JSON body builder. */
function stringFields(message: DescMessage, depth = 0): StringFieldCase[] {
  if (depth > 4) return [];
  const cases: StringFieldCase[] = [];
  for (const field of message.fields) {
    const wrap = (inner: unknown) => ({ [field.jsonName]: inner });
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
      cases.push({ path: field.name, field, body: wrap });
    } else if (
      field.fieldKind === "list" &&
      field.listKind === "scalar" &&
      field.scalar === ScalarType.STRING
    ) {
      cases.push({ path: `${field.name}[0]`, field, body: (value) => wrap([value]) });
    } else if (
      field.fieldKind === "message" ||
      (field.fieldKind === "list" && field.listKind === "message")
    ) {
      const repeated = field.fieldKind === "list";
      for (const inner of stringFields(field.message, depth + 1)) {
        cases.push({
          path: `${field.name}${repeated ? "[0]" : ""}.${inner.path}`,
          field: inner.field,
          body: (value) => wrap(repeated ? [inner.body(value)] : inner.body(value)),
        });
      }
    } else if (field.fieldKind === "map") {
      throw new Error(`${message.typeName}.${field.name}: add map fields to this fuzz`);
    }
  }
  return cases;
}

const METHODS = API_SERVICES.filter((service) => service.typeName.startsWith("gatehouse.")).flatMap(
  (service) => service.methods.map((method) => ({ procedure: `${service.typeName}/${method.name}`, method })),
);

/**
 * A server-streaming call (WatchChanges) as Connect's streaming JSON protocol
 * sends it: one enveloped request message; the error, if any, is in the
 * end-of-stream envelope. Answers like postJson: the error as the body.
 */
async function postStreamingJson(
  baseUrl: string,
  procedure: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, any> }> {
  const json = Buffer.from(JSON.stringify(body));
  const envelope = Buffer.alloc(5 + json.length);
  envelope.writeUInt32BE(json.length, 1);
  json.copy(envelope, 5);
  const response = await fetch(`${baseUrl}/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/connect+json", ...headers },
    body: envelope,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset + 1);
    if ((bytes[offset]! & 0x02) !== 0) {
      const end = JSON.parse(bytes.subarray(offset + 5, offset + 5 + length).toString());
      return { status: response.status, body: end.error ?? {} };
    }
    offset += 5 + length;
  }
  return { status: response.status, body: {} };
}

/** Long enough for every length rule, so only the control character is wrong. */
const WITH_NUL = "gatehouse\u0000fuzz-value";
const WITH_ESCAPE = "gatehouse\u001bfuzz-value";
const PASSWORD_WITH_NUL = "Pass\u0000word-long-enough-1";

/** Passwords may hold any Unicode but NUL; every other string field refuses every control character. */
const isPassword = (field: DescField) => /password$/.test(field.name);

describe("control characters in request strings (postgres)", () => {
  let server: TestGatehouse;
  let admin: string;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("covers every method of the API", () => {
    expect(METHODS.length).toBeGreaterThanOrEqual(58);
  });

  it("answers INVALID_ARGUMENT naming the field, never INTERNAL, for a NUL in any string field of any method", async () => {
    const failures: string[] = [];
    let probed = 0;
    for (const { procedure, method } of METHODS) {
      for (const candidate of stringFields(method.input)) {
        for (const value of isPassword(candidate.field) ? [PASSWORD_WITH_NUL] : [WITH_NUL, WITH_ESCAPE]) {
          probed++;
          const call = method.methodKind === "server_streaming" ? postStreamingJson : postJson;
          const response = await call(server.url, procedure, candidate.body(value), {
            authorization: `Bearer ${admin}`,
          });
          const details = (response.body.details ?? []) as Array<{ type: string; debug?: any }>;
          const violations: string[] =
            details
              .find((detail) => detail.type === "google.rpc.BadRequest")
              ?.debug?.fieldViolations?.map((violation: { field: string }) => violation.field) ?? [];
          if (response.body.code !== "invalid_argument" || !violations.includes(candidate.path)) {
            failures.push(
              `${procedure} ${candidate.path} ${JSON.stringify(value)}: ${response.status} ${response.body.code ?? ""} [${violations.join(", ")}]`,
            );
          }
        }
      }
    }
    expect(probed).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it("lets passwords hold any Unicode but NUL, and descriptions hold line breaks", async () => {
    const login = await postJson(server.url, "gatehouse.v1.AuthService/Login", {
      login: TEST_ADMIN.username,
      password: "Pässwörd \u001b\u0085 🙂 wrong",
    });
    expect(login.body.code).toBe("unauthenticated");
    const role = await postJson(
      server.url,
      "gatehouse.v1.RoleService/CreateRole",
      {
        name: "fuzz-multiline",
        description: "first line\n\tsecond line\r\n",
        permissions: { permissions: [] },
      },
      { authorization: `Bearer ${admin}` },
    );
    expect(role.status).toBe(200);
    const bell = await postJson(
      server.url,
      "gatehouse.v1.RoleService/CreateRole",
      { name: "fuzz-bell", description: "ding\u0007" },
      { authorization: `Bearer ${admin}` },
    );
    expect(bell.body.code).toBe("invalid_argument");
  });
});
