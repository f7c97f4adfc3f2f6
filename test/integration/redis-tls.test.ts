import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/free-port.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { uniqueRedisPrefix } from "../support/services.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";

/** A redis-server of the test's own that speaks only TLS, with the test CA's server certificate. */
async function startTlsRedis(pki: TestPki): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--tls-cert-file",
      pki.serverCert,
      "--tls-key-file",
      pki.serverKey,
      "--tls-ca-cert-file",
      pki.caCert,
      "--tls-auth-clients",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: "ignore" },
  );
  for (let attempt = 0; attempt < 100; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return { port, process: child };
    await sleep(50);
  }
  child.kill();
  throw new Error("redis-server with TLS did not start");
}

async function readiness(
  server: TestGatehouse,
): Promise<{ coordination: { kind: string; healthy: boolean } }> {
  return (await (await fetch(`${server.url}/readyz`)).json()) as {
    coordination: { kind: string; healthy: boolean };
  };
}

describe("Redis over TLS (rediss:// and REDIS_TLS_CA_FILE)", () => {
  let pki: TestPki;
  let redis: { port: number; process: ChildProcess };
  beforeAll(async () => {
    pki = await createTestPki();
    redis = await startTlsRedis(pki);
  });
  afterAll(async () => {
    redis?.process.kill();
    await pki?.remove();
  });

  it("connects when the server's certificate chains to the configured CA", async () => {
    const server = await startTestGatehouse({
      backend: "embedded",
      env: {
        REDIS_URL: `rediss://127.0.0.1:${redis.port}`,
        REDIS_TLS_CA_FILE: pki.caCert,
        REDIS_KEY_PREFIX: uniqueRedisPrefix(),
      },
    });
    try {
      expect((await readiness(server)).coordination).toEqual({ kind: "redis", healthy: true });
    } finally {
      await server.stop();
    }
  });

  it("does not connect without the CA (the test CA is not a system CA), nor over plain redis://", async () => {
    for (const url of [`rediss://127.0.0.1:${redis.port}`, `redis://127.0.0.1:${redis.port}`]) {
      const server = await startTestGatehouse({
        backend: "embedded",
        env: { REDIS_URL: url, REDIS_KEY_PREFIX: uniqueRedisPrefix() },
      });
      try {
        await sleep(300);
        expect((await readiness(server)).coordination, url).toEqual({ kind: "redis", healthy: false });
      } finally {
        // One embedded instance at a time in this process (two at once fail to open their signing keys).
        await server.stop();
      }
    }
  });
});
