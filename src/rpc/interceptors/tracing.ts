import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import type { HeaderSource, Tracing } from "../../observability/tracing.ts";
import { kPeer } from "../context.ts";

/**
 * A server span per RPC, continuing the caller's trace (W3C traceparent). For
 * Envoy's Check the parent is the traceparent of the request being authorized
 * (CheckRequest.attributes.request.http), so a mesh request's trace shows its
 * authorization step. Attributes are the RPC's name and outcome only: never a
 * header, a token or a message field. Only in the chain when tracing is on.
 */
export function tracingInterceptor(tracing: Tracing): Interceptor {
  return (next) => async (request) => {
    const isCheck = request.method === Authorization.method.check && !request.stream;
    const carrier = isCheck
      ? (checkedRequestHeaders(request.message as CheckRequest) ?? request.header)
      : request.header;
    const contentType = request.header.get("content-type") ?? "";
    const parent = tracing.extract(carrier);
    const span = tracing.tracer.startSpan(
      `${request.service.typeName}/${request.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": contentType.startsWith("application/grpc") ? "grpc" : "connect_rpc",
          "rpc.service": request.service.typeName,
          "rpc.method": request.method.name,
        },
      },
      parent,
    );
    // The calling workload (a verified certificate's SPIFFE id): a name, not a credential.
    const caller = isCheck ? request.contextValues.get(kPeer).spiffeId : undefined;
    if (caller !== undefined) span.setAttribute("gatehouse.check.caller", caller);
    try {
      // The database, Redis and Keycloak calls the RPC makes become this span's children.
      const response = await tracing.within(trace.setSpan(parent, span), () => next(request));
      span.setAttribute("rpc.grpc.status_code", 0);
      if (isCheck && !response.stream) {
        // google.rpc.Code of the decision (0 allowed, 7 or 16 denied): an outcome, not data.
        const status = (response.message as { status?: { code?: number } }).status;
        span.setAttribute("gatehouse.check.status_code", status?.code ?? 0);
      }
      return response;
    } catch (error) {
      const code = ConnectError.from(error).code;
      span.setAttribute("rpc.grpc.status_code", code);
      // The code's name only: an error message may echo what the caller sent.
      span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] });
      throw error;
    } finally {
      span.end();
    }
  };
}

/** The authorized request's headers, as Envoy sends them (a map, or header_map with encode_raw_headers). */
function checkedRequestHeaders(message: CheckRequest): HeaderSource | undefined {
  const http = message.attributes?.request?.http;
  if (http === undefined) return undefined;
  if (Object.keys(http.headers).length > 0) return http.headers;
  const raw = http.headerMap?.headers;
  if (raw === undefined || raw.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const header of raw) {
    const name = header.key.toLowerCase();
    if (name === "traceparent" || name === "tracestate") {
      headers[name] = header.value !== "" ? header.value : new TextDecoder().decode(header.rawValue);
    }
  }
  return headers;
}
