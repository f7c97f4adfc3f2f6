import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RPC_DURATION_BUCKETS, RpcMetrics } from "./rpc-metrics.ts";

describe("RpcMetrics", () => {
  it("puts an observation in the first bucket whose bound it does not exceed, and names codes as gRPC does", () => {
    const metrics = new RpcMetrics();
    const method = metrics.method("envoy.service.auth.v3.Authorization", "Check");
    expect(metrics.method("envoy.service.auth.v3.Authorization", "Check")).toBe(method);
    const ok = method.ok();
    expect(ok.code).toBe("OK");
    expect(method.code(Code.PermissionDenied).code).toBe("PermissionDenied");
    ok.observe(RPC_DURATION_BUCKETS[2]!);
    ok.observe(1000);
    expect(ok.count).toBe(2);
    expect(ok.buckets[2]).toBe(1);
    expect(ok.buckets[RPC_DURATION_BUCKETS.length]).toBe(1);
    expect(method.ok()).toBe(ok);
  });
});
