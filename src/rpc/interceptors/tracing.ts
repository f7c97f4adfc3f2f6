import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { startRpcSpan } from "../../observability/rpc-span.ts";
import type { HeaderSource, Tracing } from "../../observability/tracing.ts";
import { kPeer } from "../context.ts";

/**
 * A server span per RPC, continuing the caller's trace (W3C traceparent). For
 * Envoy's Check the parent is the traceparent of the request being authorized
 * (CheckRequest.attributes.request.http), so a mesh request's trace shows its
 * authorization step; without one there, the call's own. Attributes are the
 * RPC's name and outcome only: never a header, a token or a message field.
 * Only in the chain when tracing is on. The gRPC fast path makes the same span.
 */
export function tracingInterceptor(tracing: Tracing): Interceptor {
  return (next) => async (request) => {
    const isCheck = request.method === Authorization.method.check && !request.stream;
    const carrier = isCheck
      ? (checkedRequestTraceHeaders(request.message as CheckRequest) ?? request.header)
      : request.header;
    const contentType = request.header.get("content-type") ?? "";
    const span = startRpcSpan(
      tracing,
      request.service.typeName,
      request.method.name,
      contentType.startsWith("application/grpc") ? "grpc" : "connect_rpc",
      tracing.extract(carrier),
    );
    // The calling workload (a verified certificate's SPIFFE id): a name, not a credential.
    const caller = isCheck ? request.contextValues.get(kPeer).spiffeId : undefined;
    if (caller !== undefined) span.setAttribute("gatehouse.check.caller", caller);
    try {
      // The database, Redis and Keycloak calls the RPC makes become this span's children.
      const response = await tracing.within(span.context, () => next(request));
      const status =
        isCheck && !response.stream
          ? ((response.message as { status?: { code?: number } }).status?.code ?? 0)
          : undefined;
      span.end(0, undefined, status);
      return response;
    } catch (error) {
      const code = ConnectError.from(error).code;
      span.end(code, Code[code]);
      throw error;
    }
  };
}

/**
 * The authorized request's traceparent and tracestate, as Envoy sends them (the
 * headers map, or header_map with encode_raw_headers; the last one wins), or
 * undefined when it carries no traceparent. checkFactsFromBytes reads the same.
 */
function checkedRequestTraceHeaders(message: CheckRequest): HeaderSource | undefined {
  const http = message.attributes?.request?.http;
  if (http === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const header of http.headerMap?.headers ?? []) {
    const name = header.key.toLowerCase();
    if (name === "traceparent" || name === "tracestate") {
      headers[name] = header.value !== "" ? header.value : Buffer.from(header.rawValue).toString("latin1");
    }
  }
  // The headers map, when it has them, as checkFactsOf reads authorization.
  for (const name of ["traceparent", "tracestate"]) {
    const value = http.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers.traceparent === undefined ? undefined : headers;
}
