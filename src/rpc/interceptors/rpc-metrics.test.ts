import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { RpcMetrics } from "../../observability/rpc-metrics.ts";
import { rpcMetricsInterceptor } from "./rpc-metrics.ts";

function serve() {
  const metrics = new RpcMetrics();
  const registry = new Registry();
  metrics.register(registry);
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        check(request) {
          if (request.service === "") return { status: HealthCheckResponse_ServingStatus.SERVING };
          throw new ConnectError("unknown service", Code.NotFound);
        },
      }),
    { router: { interceptors: [rpcMetricsInterceptor(metrics)] } },
  );
  return { client: createClient(Health, transport), registry };
}

const line = (text: string, prefix: string) =>
  text.split("\n").find((candidate) => candidate.startsWith(prefix));

describe("rpcMetricsInterceptor", () => {
  it("counts every call by service, method and final gRPC code, and times it in the histogram", async () => {
    const { client, registry } = serve();
    await client.check({ service: "" });
    await client.check({ service: "" });
    await expect(client.check({ service: "nope" })).rejects.toThrow();
    const text = await registry.metrics();
    const labels = 'grpc_service="grpc.health.v1.Health",grpc_method="Check"';
    expect(text).toContain("# TYPE gatehouse_rpc_requests_total counter");
    expect(text).toContain("# TYPE gatehouse_rpc_duration_seconds histogram");
    expect(line(text, `gatehouse_rpc_requests_total{${labels},grpc_code="OK"}`)).toMatch(/ 2$/);
    expect(line(text, `gatehouse_rpc_requests_total{${labels},grpc_code="NotFound"}`)).toMatch(/ 1$/);
    expect(line(text, `gatehouse_rpc_duration_seconds_count{${labels},grpc_code="OK"}`)).toMatch(/ 2$/);
    expect(line(text, `gatehouse_rpc_duration_seconds_bucket{${labels},grpc_code="OK",le="+Inf"}`)).toMatch(
      / 2$/,
    );
    // Cumulative buckets: each at least the one before it.
    const buckets = text
      .split("\n")
      .filter((l) => l.startsWith(`gatehouse_rpc_duration_seconds_bucket{${labels},grpc_code="OK"`))
      .map((l) => Number(l.split(" ").at(-1)));
    expect(buckets.length).toBeGreaterThan(10);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(
      Number(line(text, `gatehouse_rpc_duration_seconds_sum{${labels},grpc_code="OK"}`)!.split(" ")[1]),
    ).toBeGreaterThan(0);
  });

  it("shows no series for codes an RPC never answered", async () => {
    const { client, registry } = serve();
    await client.check({ service: "" });
    expect(await registry.metrics()).not.toContain('grpc_code="NotFound"');
  });
});
