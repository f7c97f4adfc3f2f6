import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.ts";
import type { RpcMethodSeries, RpcMetrics, RpcSeries } from "../observability/rpc-metrics.ts";

export interface FastCallOutcomeOptions {
  readonly logger: Logger;
  /** The server's one error mapping (src/rpc/interceptors/error-mapping.ts). */
  readonly toConnectError: (error: unknown, logger: Logger) => ConnectError;
  /** Codes logged at warn (the caller's fault); any other failure is logged at error. */
  readonly clientCodes: ReadonlySet<Code>;
  /** Per-RPC metrics, shared with Connect's interceptor so every path adds to the same series. */
  readonly rpcMetrics?: RpcMetrics;
}

/** How one fast-path method reports its calls: the metrics series and log line Connect's interceptors make. */
export interface FastCallOutcome {
  succeeded(started: number): void;
  /** Maps the failure through the one error mapping, counts it and logs it; returns the mapped error. */
  failed(error: unknown, requestId: string, started: number): ConnectError;
}

/**
 * What the request-context, error-mapping and RPC-metrics interceptors do
 * for a call Connect serves, for the calls a fast path serves: the same
 * series (resolved once per method, so a call only adds to numbers), one
 * "rpc failed" line per failure at warn or error, with the request id.
 */
export function createFastCallOutcome(path: string, options: FastCallOutcomeOptions): FastCallOutcome {
  const rpc = path.slice(1);
  let method: RpcMethodSeries | undefined;
  let ok: RpcSeries | undefined;
  if (options.rpcMetrics !== undefined) {
    const [service, name] = rpc.split("/") as [string, string];
    method = options.rpcMetrics.method(service, name);
    ok = method.ok();
  }
  return {
    succeeded(started) {
      ok?.observe((performance.now() - started) / 1000);
    },
    failed(error, requestId, started) {
      const failure = error instanceof ConnectError ? error : options.toConnectError(error, options.logger);
      const elapsed = performance.now() - started;
      method?.code(failure.code).observe(elapsed / 1000);
      const fields = { requestId, rpc, code: Code[failure.code], ms: Math.round(elapsed) };
      if (options.clientCodes.has(failure.code)) options.logger.warn(fields, "rpc failed");
      else options.logger.error(fields, "rpc failed");
      return failure;
    },
  };
}
