import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcMethodSeries, RpcMetrics } from "../../observability/rpc-metrics.ts";

/**
 * Counts and times every RPC Connect serves, by its final gRPC code. It runs
 * first (outermost), so it sees what the client sees: validation failures,
 * rate limits and mapped domain errors included.
 */
export function rpcMetricsInterceptor(metrics: RpcMetrics): Interceptor {
  // Resolved once per method: no label strings built per call.
  const byMethod = new WeakMap<DescMethod, RpcMethodSeries>();
  return (next) => async (request) => {
    let series = byMethod.get(request.method);
    if (series === undefined) {
      series = metrics.method(request.service.typeName, request.method.name);
      byMethod.set(request.method, series);
    }
    const started = performance.now();
    try {
      const response = await next(request);
      series.ok().observe((performance.now() - started) / 1000);
      return response;
    } catch (error) {
      series.code(ConnectError.from(error).code).observe((performance.now() - started) / 1000);
      throw error;
    }
  };
}
