import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
} from "../../src/gen/health/v1/health_pb.js";
import { postJson } from "../support/connect-json.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpc, grpcAddress, loadService, unary } from "../support/grpc-stubs.ts";

const EXPECTED_SERVICES = [
  "gatehouse.v1.AuthService",
  "gatehouse.v1.UserService",
  "gatehouse.v1.RoleService",
  "gatehouse.v1.ServiceRegistryService",
  "gatehouse.v1.TokenVaultService",
  "envoy.service.auth.v3.Authorization",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

describe.each(BACKENDS)("foundation over the wire (%s)", (backend) => {
  let server: TestGatehouse;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: { CORS_ORIGINS: "https://app.example" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers grpc.health.v1.Health/Check with SERVING to a grpc-js stub", async () => {
    const HealthClient = loadService("health/v1/health.proto", "grpc.health.v1.Health");
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createInsecure());
    try {
      expect(await unary(client, "check", { service: "" })).toEqual({ status: "SERVING" });
      expect(await unary(client, "check", { service: "gatehouse.v1.AuthService" })).toEqual({
        status: "SERVING",
      });
      await expect(unary(client, "check", { service: "no.such.Service" })).rejects.toMatchObject({
        code: grpc.status.NOT_FOUND,
      });
    } finally {
      client.close();
    }
  });

  it("lists every service through gRPC reflection v1 and v1alpha, and serves their descriptors", async () => {
    for (const version of ["v1", "v1alpha"]) {
      const Reflection = loadService(
        `grpc/reflection/${version}/reflection.proto`,
        `grpc.reflection.${version}.ServerReflection`,
      );
      const client = new Reflection(grpcAddress(server.url), grpc.credentials.createInsecure());
      try {
        const call = (
          client as unknown as { serverReflectionInfo: () => grpc.ClientDuplexStream<object, any> }
        ).serverReflectionInfo();
        const responses: any[] = [];
        const done = new Promise<void>((resolveDone, reject) => {
          call.on("data", (response) => responses.push(response));
          call.on("end", resolveDone);
          call.on("error", reject);
        });
        call.write({ listServices: "" });
        call.write({ fileContainingSymbol: "gatehouse.v1.AuthService.Login" });
        call.write({ fileContainingSymbol: "envoy.service.auth.v3.CheckRequest" });
        call.write({ fileByFilename: "no/such/file.proto" });
        call.end();
        await done;
        const names = responses[0].listServicesResponse.service.map((s: { name: string }) => s.name);
        expect(names.sort()).toEqual([...EXPECTED_SERVICES].sort());
        const files = responses[1].fileDescriptorResponse.fileDescriptorProto.map(
          (bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes).name,
        );
        expect(files).toContain("gatehouse/v1/auth.proto");
        expect(files).toContain("gatehouse/v1/types.proto");
        expect(files).toContain("buf/validate/validate.proto");
        const envoyFiles = responses[2].fileDescriptorResponse.fileDescriptorProto.map(
          (bytes: Buffer) => fromBinary(FileDescriptorProtoSchema, bytes).name,
        );
        expect(envoyFiles).toContain("envoy/service/auth/v3/external_auth.proto");
        expect(responses[3].errorResponse.errorCode).toBe(grpc.status.NOT_FOUND);
      } finally {
        client.close();
      }
    }
  });

  it("rejects an invalid Connect JSON body with HTTP 400 invalid_argument naming the field", async () => {
    const response = await postJson(server.url, "gatehouse.v1.AuthService/Login", {
      login: "",
      password: "x",
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_argument");
    expect(String(response.body.message)).toContain("login");
    const details = response.body.details as Array<{ type: string; debug: any }>;
    const badRequest = details.find((d) => d.type === "google.rpc.BadRequest");
    expect(badRequest?.debug.fieldViolations).toEqual([
      { field: "login", description: expect.stringContaining("at least 1") },
    ]);
    expect(response.headers.get("x-request-id")).toMatch(/.+/);
  });

  it("rejects malformed JSON and wrong types as invalid_argument, never internal", async () => {
    const malformed = await postJson(server.url, "gatehouse.v1.AuthService/Login", "{not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe("invalid_argument");
    const wrongType = await postJson(server.url, "gatehouse.v1.UserService/ListUsers", { pageSize: "many" });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.code).toBe("invalid_argument");
    const outOfRange = await postJson(server.url, "gatehouse.v1.UserService/ListUsers", { pageSize: 100000 });
    expect(outOfRange.status).toBe(400);
    expect(JSON.stringify(outOfRange.body.details)).toContain("page_size");
  });

  it("rejects undecodable binary protobuf as invalid_argument over gRPC, gRPC-web and Connect, never internal", async () => {
    // Field 1, length-delimited, claims 5 bytes and carries 1: a truncated message.
    const truncated = Buffer.from([0x0a, 0x05, 0x61]);
    const method = "gatehouse.v1.AuthService/Login";

    const grpcClient = new grpc.Client(grpcAddress(server.url), grpc.credentials.createInsecure());
    try {
      const call = new Promise((resolveCall, reject) =>
        grpcClient.makeUnaryRequest(
          `/${method}`,
          (value: Buffer) => value,
          (value: Buffer) => value,
          truncated,
          (error, value) => (error ? reject(error) : resolveCall(value)),
        ),
      );
      await expect(call).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    } finally {
      grpcClient.close();
    }

    const grpcWeb = await fetch(`${server.url}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: Buffer.concat([Buffer.from([0, 0, 0, 0, truncated.length]), truncated]),
    });
    const trailerFrame = Buffer.from(await grpcWeb.arrayBuffer());
    expect(trailerFrame[0]).toBe(0x80);
    expect(trailerFrame.subarray(5).toString()).toMatch(/grpc-status: ?3\r\n/);

    const connectBinary = await fetch(`${server.url}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: truncated,
    });
    expect(connectBinary.status).toBe(400);
    expect(await connectBinary.json()).toMatchObject({ code: "invalid_argument" });
  });

  it("answers an unknown method with UNIMPLEMENTED over gRPC and 404 over HTTP", async () => {
    const HealthClient = loadService("health/v1/health.proto", "grpc.health.v1.Health");
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createInsecure());
    try {
      const call = new Promise((resolveCall, reject) =>
        client.makeUnaryRequest(
          "/gatehouse.v1.AuthService/NoSuchMethod",
          (value: Buffer) => value,
          (value: Buffer) => value,
          Buffer.alloc(0),
          (error, value) => (error ? reject(error) : resolveCall(value)),
        ),
      );
      await expect(call).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      client.close();
    }
    const response = await postJson(server.url, "gatehouse.v1.AuthService/NoSuchMethod", {});
    expect(response.status).toBe(404);
  });

  it("speaks gRPC-web and Connect over HTTP/1.1 and HTTP/2", async () => {
    const transports = [
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "2" }),
    ];
    for (const transport of transports) {
      const client = createClient(Health, transport);
      const response = await client.check(create(HealthCheckRequestSchema, { service: "" }));
      expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(client.check({ service: "nope" })).rejects.toSatisfy(
        (error: unknown) => ConnectError.from(error).code === Code.NotFound,
      );
    }
  });

  it("frames a raw gRPC-web call as a browser's fetch does", async () => {
    // grpc.health.v1.HealthCheckRequest{service: ""} is the empty message: a 5-byte frame header.
    const frame = Buffer.from([0, 0, 0, 0, 0]);
    const response = await fetch(`${server.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: frame,
    });
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    // First frame: data (flag 0), HealthCheckResponse{status: SERVING} = 0x08 0x01.
    expect(body[0]).toBe(0);
    expect(body.readUInt32BE(1)).toBe(2);
    expect([...body.subarray(5, 7)]).toEqual([0x08, 0x01]);
    // Then the trailers frame (flag 0x80) with grpc-status 0.
    expect(body[7]).toBe(0x80);
    expect(body.subarray(12).toString()).toMatch(/grpc-status: ?0/);
  });

  it("serves liveness and readiness over plain HTTP", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", database: "ok" });
  });

  it("serves the password-reset page as a plain form with a strict content security policy", async () => {
    const page = await fetch(`${server.url}/reset-password?token=abcdefghijklmnopqrstuvwxyz`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/reset-password"');
    expect(html).not.toContain("<script");
    // A POST without the form's CSRF token is refused (test/wire/hosted-pages.test.ts covers the rest).
    expect(
      (
        await fetch(`${server.url}/reset-password`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "reset_token=x&new_password=y",
        })
      ).status,
    ).toBe(403);
  });

  it("answers CORS preflights for configured origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/gatehouse.v1.AuthService/Login`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version",
        },
      });
    const allowed = await preflight("https://app.example");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(allowed.headers.get("access-control-allow-headers")).toContain("Connect-Protocol-Version");
    const denied = await preflight("https://evil.example");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("process lifecycle", () => {
  it("drains on SIGTERM: an open Watch stream ends with NOT_SERVING and the process exits 0", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-sigterm-"));
    const gatehouse = await startGatehouseProcess({ env: { DATA_DIR: dataDir } });
    const HealthClient = loadService("health/v1/health.proto", "grpc.health.v1.Health");
    const client = new HealthClient(`127.0.0.1:${gatehouse.port}`, grpc.credentials.createInsecure());
    const statuses: string[] = [];
    const watch = (client as unknown as { watch: (r: object) => grpc.ClientReadableStream<any> }).watch({
      service: "",
    });
    let exitCode: Promise<number | null> | undefined;
    const ended = new Promise<void>((resolveEnd, reject) => {
      watch.on("data", (response) => {
        statuses.push(response.status);
        if (statuses.length === 1) exitCode = gatehouse.stop();
      });
      watch.on("end", resolveEnd);
      watch.on("error", reject);
    });
    await ended;
    client.close();
    expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
    expect(await exitCode).toBe(0);
    expect(gatehouse.output()).toContain("shutting down");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("refuses to start on bad configuration, naming each bad variable", async () => {
    const root = resolve(import.meta.dirname, "../..");
    const child = spawn(process.execPath, ["src/main.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "99999", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
    expect(code).toBe(2);
    expect(stderr).toContain("PORT");
    expect(stderr).toContain("LOG_LEVEL");
    expect(stderr).toContain("DATABASE_URL");
  });
});
