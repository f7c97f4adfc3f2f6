import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";

const OPS_PATHS = ["/healthz", "/readyz", "/metrics"];

describe("MANAGEMENT_PORT", () => {
  let server: TestGatehouse;
  let managementUrl: string;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded", env: { MANAGEMENT_PORT: "0" } });
    managementUrl = server.gatehouse.management!.url;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("serves /healthz, /readyz and /metrics on its own port", async () => {
    expect(new URL(managementUrl).port).not.toBe(String(server.port));
    for (const path of OPS_PATHS) {
      const response = await fetch(`${managementUrl}${path}`);
      expect(response.status, path).toBe(200);
    }
    expect(await (await fetch(`${managementUrl}/metrics`)).text()).toContain("gatehouse_decisions_total");
    expect(await (await fetch(`${managementUrl}/readyz`)).json()).toMatchObject({ status: "ready" });
  });

  it("serves nothing else there: no API, unknown paths are 404", async () => {
    expect((await fetch(`${managementUrl}/gatehouse.v1.AuthService/Login`, { method: "POST" })).status).toBe(
      404,
    );
    expect((await fetch(`${managementUrl}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${managementUrl}/grpc.health.v1.Health/Check`)).status).toBe(404);
  });

  it("no longer serves them on the API port", async () => {
    for (const path of OPS_PATHS) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).not.toBe(200);
      expect(await response.text()).not.toContain("gatehouse_decisions_total");
    }
  });
});

describe("without MANAGEMENT_PORT", () => {
  let server: TestGatehouse;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("serves them on the API port, and there is no management server", async () => {
    expect(server.gatehouse.management).toBeUndefined();
    for (const path of OPS_PATHS) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
  });
});
