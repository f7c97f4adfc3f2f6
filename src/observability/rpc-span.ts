import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Tracing } from "./tracing.ts";

/** One RPC's server span, ended with its gRPC code (and, for Envoy's Check, the decision's code). */
export interface RpcSpan {
  /** The caller's context with this span in it: what the RPC's child spans (database, Redis, Keycloak) run within. */
  readonly context: Context;
  /** A name or an outcome, never a credential or a message field. */
  setAttribute(key: string, value: string | number): void;
  /** `code` 0 is OK; any other is an error named by `codeName` (never an error message: it may echo input). */
  end(code: number, codeName?: string, checkStatusCode?: number): void;
}

/**
 * The span the tracing interceptor (Connect) and the gRPC fast path both make:
 * named "service/method", kind SERVER, the RPC's name and outcome as
 * attributes, and never a header, a token or a message field.
 */
export function startRpcSpan(
  tracing: Tracing,
  service: string,
  method: string,
  system: "grpc" | "connect_rpc",
  parent: Context,
): RpcSpan {
  const span: Span = tracing.tracer.startSpan(
    `${service}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: { "rpc.system": system, "rpc.service": service, "rpc.method": method },
    },
    parent,
  );
  return {
    context: trace.setSpan(parent, span),
    setAttribute(key, value) {
      span.setAttribute(key, value);
    },
    end(code, codeName, checkStatusCode) {
      span.setAttribute("rpc.grpc.status_code", code);
      // google.rpc.Code of the decision (0 allowed, 7 or 16 denied): an outcome, not data.
      if (checkStatusCode !== undefined) span.setAttribute("gatehouse.check.status_code", checkStatusCode);
      if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: codeName ?? String(code) });
      span.end();
    },
  };
}
