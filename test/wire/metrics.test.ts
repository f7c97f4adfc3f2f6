import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { grpc, grpcAddress, loadService, unary } from "../support/grpc-stubs.ts";

/** The value of one exposition line, by its name and labels exactly as written; undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(BACKENDS)("/metrics after real calls (%s)", (backend) => {
  let server: TestGatehouse;
  let text: string;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: { RATE_LIMIT_PER_IP_PER_MINUTE: "2" } });
    const HealthClient = loadService("health/v1/health.proto", "grpc.health.v1.Health");
    const client = new HealthClient(grpcAddress(server.url), grpc.credentials.createInsecure());
    try {
      // Plain gRPC: the fast path.
      await unary(client, "check", { service: "" });
      await unary(client, "check", { service: "" });
      await unary(client, "check", { service: "no.such.Service" }).catch(() => {});
    } finally {
      client.close();
    }
    // Connect JSON: through Connect and its interceptors.
    expect((await postJson(server.url, "grpc.health.v1.Health/Check", { service: "" })).status).toBe(200);
    // Three sign-in attempts with a per-IP budget of two: the third is rate limited.
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const login = { login: "nobody@example.com", password: "not-the-password" };
      statuses.push((await postJson(server.url, "gatehouse.v1.AuthService/Login", login)).status);
    }
    expect(statuses.at(-1)).toBe(429);
    text = await (await fetch(`${server.url}/metrics`)).text();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("counts each RPC by service, method and code, on the fast path and through Connect alike", () => {
    const health = 'grpc_service="grpc.health.v1.Health",grpc_method="Check"';
    expect(sample(text, `gatehouse_rpc_requests_total{${health},grpc_code="OK"}`)).toBe(3);
    expect(sample(text, `gatehouse_rpc_requests_total{${health},grpc_code="NotFound"}`)).toBe(1);
    expect(sample(text, `gatehouse_rpc_duration_seconds_count{${health},grpc_code="OK"}`)).toBe(3);
    expect(sample(text, `gatehouse_rpc_duration_seconds_bucket{${health},grpc_code="OK",le="+Inf"}`)).toBe(3);
    const login = 'grpc_service="gatehouse.v1.AuthService",grpc_method="Login"';
    expect(sample(text, `gatehouse_rpc_requests_total{${login},grpc_code="ResourceExhausted"}`)).toBe(1);
    expect(sample(text, "gatehouse_rate_limit_rejections_total")).toBe(1);
  });

  it("exports Node's process and runtime metrics under their standard, unprefixed names", () => {
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(sample(text, name), name).toBeGreaterThan(0);
    }
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).not.toMatch(/^gatehouse_(process|nodejs)_/m);
  });

  it("reports the database, the coordination store and the change feed's lag", () => {
    expect(sample(text, "gatehouse_database_up")).toBe(1);
    expect(sample(text, "gatehouse_coordination_store_up")).toBe(1);
    expect(sample(text, "gatehouse_change_feed_lag_seconds")).toBeGreaterThanOrEqual(0);
    if (backend === "postgres") {
      expect(sample(text, 'gatehouse_database_pool_connections{state="idle"}')).toBeGreaterThanOrEqual(0);
      expect(sample(text, "gatehouse_database_pool_waiting")).toBe(0);
    }
  });
});
