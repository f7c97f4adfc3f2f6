import { readFile } from "node:fs/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorization } from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  authorizationClient,
  errorReason,
  grpc,
  grpcAddress,
  loadService,
  unary,
} from "../support/grpc-stubs.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";

/** A Check of a request without credentials: answered with a denial (16), never an RPC error, when the caller may ask. */
const CHECK = { attributes: { request: { http: { host: "orders.internal", path: "/", method: "GET" } } } };
const ALLOWED = "spiffe://cluster.local/ns/shop/sa/checkout";

interface Identity {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * CHECK_ALLOWED_SPIFFE_IDS: only workloads whose verified client certificate
 * names an allowed SPIFFE id may call Check, over plain gRPC (the fast path)
 * and over Connect alike; other RPCs are not affected.
 */
describe.each(["require", "optional"] as const)("Check callers by SPIFFE id (TLS_CLIENT_AUTH=%s)", (mode) => {
  let pki: TestPki;
  let server: TestGatehouse;
  let ca: Buffer;
  let allowed: Identity;
  let belowPrefix: Identity;
  let other: Identity;
  beforeAll(async () => {
    pki = await createTestPki();
    ca = await readFile(pki.caCert);
    const read = async (files: { cert: string; key: string }) => ({
      cert: await readFile(files.cert),
      key: await readFile(files.key),
    });
    allowed = await read({ cert: pki.clientCert, key: pki.clientKey });
    belowPrefix = await read(
      await pki.issueClient("billing", "2002", "spiffe://cluster.local/ns/billing/sa/invoices"),
    );
    other = await read(await pki.issueClient("cart", "2003", "spiffe://cluster.local/ns/shop/sa/cart"));
    server = await startTestGatehouse({
      backend: "embedded",
      env: {
        TLS_CERT_FILE: pki.serverCert,
        TLS_KEY_FILE: pki.serverKey,
        TLS_CLIENT_CA_FILE: pki.caCert,
        TLS_CLIENT_AUTH: mode,
        CHECK_ALLOWED_SPIFFE_IDS: `${ALLOWED}, spiffe://cluster.local/ns/billing/*`,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await pki?.remove();
  });

  const grpcCheck = async (identity: Identity | undefined) => {
    const credentials =
      identity === undefined
        ? grpc.credentials.createSsl(ca)
        : grpc.credentials.createSsl(ca, identity.key, identity.cert);
    const client = authorizationClient(server.url, credentials);
    try {
      return await unary<{ status: { code: number } }>(client, "check", CHECK);
    } finally {
      client.close();
    }
  };
  const connectCheck = (identity: Identity) =>
    createClient(
      Authorization,
      createConnectTransport({
        baseUrl: server.url,
        httpVersion: "1.1",
        useBinaryFormat: false,
        nodeOptions: { ca, cert: identity.cert, key: identity.key },
      }),
    ).check(CHECK);

  it("answers an allowed workload (exact id, and an id below a /* prefix) over gRPC and Connect JSON", async () => {
    expect((await grpcCheck(allowed)).status.code).toBe(16);
    expect((await grpcCheck(belowPrefix)).status.code).toBe(16);
    expect((await connectCheck(allowed)).status?.code).toBe(16);
  });

  it("refuses another workload of the same CA with PERMISSION_DENIED, over gRPC and Connect JSON", async () => {
    const refused = await grpcCheck(other).catch((error: grpc.ServiceError) => error);
    expect(refused).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    expect(await errorReason(refused as grpc.ServiceError)).toBe("check_caller_not_allowed");
    const viaConnect = await connectCheck(other).catch((error: unknown) => ConnectError.from(error));
    expect(viaConnect).toMatchObject({ code: Code.PermissionDenied });
    // gRPC through Connect's transport (the Connect handler, not the fast path) refuses it too.
    const viaGrpcTransport = await createClient(
      Authorization,
      createGrpcTransport({ baseUrl: server.url, nodeOptions: { ca, cert: other.cert, key: other.key } }),
    )
      .check(CHECK)
      .catch((error: unknown) => ConnectError.from(error));
    expect(viaGrpcTransport).toMatchObject({ code: Code.PermissionDenied });
  });

  if (mode === "optional") {
    it("refuses a caller without a client certificate, yet serves it other RPCs", async () => {
      await expect(grpcCheck(undefined)).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      const Health = loadService("health/v1/health.proto", "grpc.health.v1.Health");
      const client = new Health(grpcAddress(server.url), grpc.credentials.createSsl(ca));
      try {
        expect(await unary(client, "check", { service: "" })).toEqual({ status: "SERVING" });
      } finally {
        client.close();
      }
    });
  }
});
