import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse } from "../support/gatehouse.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";
import { startTlsPostgres, type TlsPostgres } from "../support/tls-postgres.ts";

describe("PostgreSQL over TLS (DATABASE_SSL_CA_FILE)", () => {
  let pki: TestPki;
  let postgres: TlsPostgres;
  beforeAll(async () => {
    pki = await createTestPki();
    postgres = await startTlsPostgres(pki);
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
    await pki?.remove();
  });

  const env = (extra: Record<string, string>) => ({
    DATABASE_URL: postgres.url,
    KEY_ENCRYPTION_KEY: "3c".repeat(32),
    ...extra,
  });

  it("migrates and serves over a TLS connection verified against the CA", async () => {
    const server = await startTestGatehouse({
      // "embedded" only so the helper makes no database of its own: DATABASE_URL points at ours.
      backend: "embedded",
      env: env({ DATABASE_SSL_CA_FILE: pki.caCert }),
    });
    try {
      const ready = await (await fetch(`${server.url}/readyz`)).json();
      expect(ready).toMatchObject({ status: "ready", database: "ok" });
      const [row] = await server.gatehouse.dataSource.query(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      );
      expect(row.ssl).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it("does not start without it (the server refuses plaintext), nor with a CA that did not issue the certificate", async () => {
    const other = await createTestPki();
    try {
      const cases: Array<Record<string, string>> = [{}, { DATABASE_SSL_CA_FILE: other.caCert }];
      for (const extra of cases) {
        await expect(startTestGatehouse({ backend: "embedded", env: env(extra) })).rejects.toThrow(
          /no encryption|self-signed certificate|unable to verify|certificate/i,
        );
      }
    } finally {
      await other.remove();
    }
  });
});
