import { copyFile, readFile } from "node:fs/promises";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import tls from "node:tls";
import { createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/health/v1/health_pb.js";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpc, grpcAddress, loadService, unary } from "../support/grpc-stubs.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";

const HealthClient = loadService("health/v1/health.proto", "grpc.health.v1.Health");

/** The serial number and negotiated ALPN protocol of the certificate the server presents now. */
function handshake(
  port: number,
  ca: Buffer,
  extra: tls.ConnectionOptions = {},
): Promise<{ serial: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, ca, ALPNProtocols: ["h2", "http/1.1"], ...extra },
      () => {
        const result = {
          serial: socket.getPeerCertificate().serialNumber,
          alpn: socket.alpnProtocol ?? false,
        };
        socket.end();
        resolve(result);
      },
    );
    socket.once("error", reject);
  });
}

describe("TLS on the API port", () => {
  let pki: TestPki;
  let server: TestGatehouse;
  let ca: Buffer;
  let certFile: string;
  let keyFile: string;
  beforeAll(async () => {
    pki = await createTestPki();
    ca = await readFile(pki.caCert);
    // Served from copies, so the reload test can overwrite them.
    certFile = `${pki.dir}/served.pem`;
    keyFile = `${pki.dir}/served.key`;
    await copyFile(pki.serverCert, certFile);
    await copyFile(pki.serverKey, keyFile);
    server = await startTestGatehouse({
      backend: "embedded",
      env: {
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: keyFile,
        TLS_RELOAD_INTERVAL_MS: "50",
        CONNECTION_SNIFF_TIMEOUT_MS: "300",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await pki?.remove();
  });

  it("serves an https URL and negotiates h2 or http/1.1 by ALPN", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await handshake(server.port, ca)).alpn).toBe("h2");
    expect((await handshake(server.port, ca, { ALPNProtocols: ["http/1.1"] })).alpn).toBe("http/1.1");
  });

  it("answers gRPC from a grpc-js stub trusting the test CA", async () => {
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createSsl(ca));
    try {
      expect(await unary(client, "check", { service: "" })).toEqual({ status: "SERVING" });
    } finally {
      client.close();
    }
  });

  it("answers gRPC-web (HTTP/1.1 and h2), Connect JSON over HTTP/1.1 and gRPC through Connect's transports", async () => {
    const transports = [
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1", nodeOptions: { ca } }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "2", nodeOptions: { ca } }),
      createConnectTransport({
        baseUrl: server.url,
        httpVersion: "1.1",
        useBinaryFormat: false,
        nodeOptions: { ca },
      }),
      createConnectTransport({
        baseUrl: server.url,
        httpVersion: "2",
        useBinaryFormat: false,
        nodeOptions: { ca },
      }),
      createGrpcTransport({ baseUrl: server.url, nodeOptions: { ca } }),
    ];
    for (const transport of transports) {
      const response = await createClient(Health, transport).check({ service: "" });
      expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
  });

  it("closes a connection that never finishes its TLS handshake (within CONNECTION_SNIFF_TIMEOUT_MS)", {
    timeout: 15_000,
  }, async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(socket.bytesRead).toBe(0);
  });

  it("refuses a client that does not trust the certificate (no cleartext fallback)", async () => {
    await expect(handshake(server.port, Buffer.alloc(0), { ca: undefined })).rejects.toThrow();
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createInsecure());
    try {
      await expect(unary(client, "check", { service: "" })).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      client.close();
    }
  });

  it("serves a renewed certificate once its files change, without a restart", {
    timeout: 20_000,
  }, async () => {
    expect((await handshake(server.port, ca)).serial).toBe("1001");
    const renewed = await pki.issueServer("renewed", "1002");
    // Key first, then certificate: in between the pair does not match, and the old one stays served.
    await copyFile(renewed.key, keyFile);
    await sleep(200);
    expect((await handshake(server.port, ca)).serial).toBe("1001");
    await copyFile(renewed.cert, certFile);
    let serial = "";
    while (serial !== "1002") {
      await sleep(50);
      serial = (await handshake(server.port, ca)).serial;
    }
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createSsl(ca));
    try {
      expect(await unary(client, "check", { service: "" })).toEqual({ status: "SERVING" });
    } finally {
      client.close();
    }
  });
});

describe.each(["require", "optional"] as const)("mTLS: TLS_CLIENT_AUTH=%s", (mode) => {
  let pki: TestPki;
  let server: TestGatehouse;
  let ca: Buffer;
  beforeAll(async () => {
    pki = await createTestPki();
    ca = await readFile(pki.caCert);
    server = await startTestGatehouse({
      backend: "embedded",
      env: {
        TLS_CERT_FILE: pki.serverCert,
        TLS_KEY_FILE: pki.serverKey,
        TLS_CLIENT_CA_FILE: pki.caCert,
        TLS_CLIENT_AUTH: mode,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await pki?.remove();
  });

  it("serves a client presenting a certificate from the client CA", async () => {
    const credentials = grpc.credentials.createSsl(
      ca,
      await readFile(pki.clientKey),
      await readFile(pki.clientCert),
    );
    const client = new HealthClient(grpcAddress(server.url), credentials);
    try {
      expect(await unary(client, "check", { service: "" })).toEqual({ status: "SERVING" });
    } finally {
      client.close();
    }
  });

  it(
    mode === "require" ? "refuses a client without a certificate" : "serves a client without a certificate",
    async () => {
      const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createSsl(ca));
      try {
        const call = unary(client, "check", { service: "" });
        if (mode === "require") await expect(call).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
        else expect(await call).toEqual({ status: "SERVING" });
      } finally {
        client.close();
      }
    },
  );

  it("refuses a client whose certificate another CA issued", async () => {
    const other = await createTestPki();
    try {
      const credentials = grpc.credentials.createSsl(
        ca,
        await readFile(other.clientKey),
        await readFile(other.clientCert),
      );
      const client = new HealthClient(grpcAddress(server.url), credentials);
      try {
        await expect(unary(client, "check", { service: "" })).rejects.toMatchObject({
          code: grpc.status.UNAVAILABLE,
        });
      } finally {
        client.close();
      }
    } finally {
      await other.remove();
    }
  });
});
