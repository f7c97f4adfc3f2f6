import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, grpc, unary } from "../support/grpc-stubs.ts";
import { AUTH, IDENTITY_ENV } from "../support/identity.ts";
import { createTestRealm, ensureKeycloak, type TestRealm } from "../support/keycloak.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A minimal OTLP/HTTP trace receiver: takes JSON ExportTraceServiceRequests and keeps every span. */
async function startOtlpReceiver() {
  const bodies: string[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces" && request.method === "POST") {
        bodies.push(Buffer.concat(chunks).toString());
        contentTypes.push(String(request.headers["content-type"]));
      }
      response.setHeader("content-type", "application/json");
      response.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    contentTypes,
    spans(): ReceivedSpan[] {
      return bodies.flatMap((body) =>
        (JSON.parse(body).resourceSpans ?? []).flatMap((resource: any) =>
          resource.scopeSpans.flatMap((scope: any) => scope.spans as ReceivedSpan[]),
        ),
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const SECRET_TOKEN = `secret-${hex(16)}`;

describe("tracing to an OTLP/HTTP receiver", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let server: TestGatehouse;
  const meshTrace = { traceId: hex(16), spanId: hex(8) };
  const callerTrace = { traceId: hex(16), spanId: hex(8) };
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    server = await startTestGatehouse({
      backend: "embedded",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "gatehouse-under-test" },
    });
    const authz = authorizationClient(server.url);
    try {
      // The request Envoy authorizes carries the mesh's traceparent (and a bearer token that must not leak).
      const headers = {
        ":authority": "gateway.internal",
        ":method": "GET",
        ":path": "/invoices",
        traceparent: `00-${meshTrace.traceId}-${meshTrace.spanId}-01`,
        authorization: `Bearer ${SECRET_TOKEN}`,
      };
      const response: any = await unary(authz, "check", {
        attributes: {
          request: { http: { method: "GET", headers, path: "/invoices", host: "gateway.internal" } },
        },
      });
      expect(response.status.code).not.toBe(0);
    } finally {
      authz.close();
    }
    // A Connect call continues the trace of its own traceparent header.
    const health = await postJson(
      server.url,
      "grpc.health.v1.Health/Check",
      { service: "" },
      {
        traceparent: `00-${callerTrace.traceId}-${callerTrace.spanId}-01`,
      },
    );
    expect(health.status).toBe(200);
    // Stopping flushes the batch to the receiver.
    await server.stop();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("exports Check's span under the mesh request's trace id, as a child of its span", () => {
    const check = receiver.spans().find((span) => span.name === "envoy.service.auth.v3.Authorization/Check");
    expect(check).toBeDefined();
    expect(check!.traceId).toBe(meshTrace.traceId);
    expect(check!.parentSpanId).toBe(meshTrace.spanId);
    expect(check!.kind).toBe(2); // SPAN_KIND_SERVER
    const attributes = Object.fromEntries(check!.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    expect(attributes).toMatchObject({
      "rpc.service": "envoy.service.auth.v3.Authorization",
      "rpc.method": "Check",
    });
    expect(attributes["gatehouse.check.status_code"]).toBe(16);
  });

  it("continues a Connect caller's trace from its traceparent header", () => {
    const span = receiver.spans().find((candidate) => candidate.name === "grpc.health.v1.Health/Check");
    expect(span?.traceId).toBe(callerTrace.traceId);
    expect(span?.parentSpanId).toBe(callerTrace.spanId);
  });

  it("names the service, and never exports a token or a header", () => {
    const everything = receiver.bodies.join("\n");
    expect(everything).toContain("gatehouse-under-test");
    expect(everything).not.toContain(SECRET_TOKEN);
    expect(everything.toLowerCase()).not.toContain("bearer");
    expect(everything).not.toContain("gateway.internal");
  });
});

describe("child spans for the database, Redis and Keycloak beneath the RPC span", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let server: TestGatehouse;
  let realm: TestRealm;
  const callerTrace = { traceId: hex(16), spanId: hex(8) };
  const username = `traced-${hex(4)}`;
  const password = `Pass-${hex(8)}-9`;
  let accessToken = "";
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    realm = await createTestRealm(await ensureKeycloak());
    await realm.createUser({ username, email: `${username}@example.test`, password });
    // PostgreSQL and Redis (the rate limit counts in Redis), users in Keycloak.
    const { BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD, ...env } =
      IDENTITY_ENV;
    server = await startTestGatehouse({
      backend: "postgres",
      env: { ...env, ...realm.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    });
    const login = await postJson(
      server.url,
      `${AUTH}/Login`,
      { login: username, password },
      { traceparent: `00-${callerTrace.traceId}-${callerTrace.spanId}-01` },
    );
    expect(login.status).toBe(200);
    accessToken = (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
    await server.stop();
  }, 120_000);
  afterAll(async () => {
    await receiver?.close();
    await realm?.delete();
  });

  it("makes each query, command and Keycloak request a CLIENT span under Login's span", () => {
    const spans = receiver.spans().filter((span) => span.traceId === callerTrace.traceId);
    const login = spans.find((span) => span.name === "gatehouse.v1.AuthService/Login");
    expect(login?.parentSpanId).toBe(callerTrace.spanId);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    /** Whether the span hangs, through its parents, from Login's. */
    const underLogin = (span: ReceivedSpan) => {
      for (let current: ReceivedSpan | undefined = span; current !== undefined; ) {
        if (current.parentSpanId === login?.spanId) return true;
        current = current.parentSpanId === undefined ? undefined : byId.get(current.parentSpanId);
      }
      return false;
    };
    const children = spans.filter((span) => span !== login);
    console.log(`Login's child spans: ${children.map((span) => span.name).join(", ")}`);
    for (const prefix of ["db ", "redis ", "keycloak password grant"]) {
      const found = children.filter((span) => span.name.startsWith(prefix));
      expect(found.length, prefix).toBeGreaterThan(0);
      for (const span of found) {
        expect(underLogin(span)).toBe(true);
        expect(span.kind).toBe(3); // SPAN_KIND_CLIENT
      }
    }
    const attributes = (span: ReceivedSpan) =>
      Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    expect(attributes(children.find((span) => span.name.startsWith("db "))!)).toMatchObject({
      "db.system": "postgresql",
    });
    expect(attributes(children.find((span) => span.name.startsWith("redis "))!)).toMatchObject({
      "db.system": "redis",
    });
  });

  it("puts no password, token, username, key or SQL in any span", () => {
    const everything = receiver.bodies.join("\n");
    expect(accessToken).not.toBe("");
    for (const secret of [password, accessToken, username, realm.env.KEYCLOAK_CLIENT_SECRET]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/\bFROM\b|\bWHERE\b/);
  });
});

describe("Check's span names the calling workload (mTLS SPIFFE id)", () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let pki: TestPki;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    pki = await createTestPki();
    const server = await startTestGatehouse({
      backend: "embedded",
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        TLS_CERT_FILE: pki.serverCert,
        TLS_KEY_FILE: pki.serverKey,
        TLS_CLIENT_CA_FILE: pki.caCert,
      },
    });
    const credentials = grpc.credentials.createSsl(
      await readFile(pki.caCert),
      await readFile(pki.clientKey),
      await readFile(pki.clientCert),
    );
    const authz = authorizationClient(server.url, credentials);
    try {
      await unary(authz, "check", { attributes: { request: { http: { host: "orders.internal" } } } });
    } finally {
      authz.close();
      await server.stop();
    }
  });
  afterAll(async () => {
    await receiver?.close();
    await pki?.remove();
  });

  it("sets gatehouse.check.caller to the client certificate's SPIFFE id", () => {
    const check = receiver.spans().find((span) => span.name === "envoy.service.auth.v3.Authorization/Check");
    const attributes = Object.fromEntries(check!.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    expect(attributes["gatehouse.check.caller"]).toBe("spiffe://cluster.local/ns/shop/sa/checkout");
  });
});
