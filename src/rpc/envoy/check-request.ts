import type { DecisionInput } from "../../domain/decision/decision-engine.ts";
import type { CheckRequest } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** A request header, as Envoy sends it: the `headers` map, or `header_map` with encode_raw_headers. */
function header(request: CheckRequest, name: string): string | undefined {
  const http = request.attributes?.request?.http;
  if (http === undefined) return undefined;
  const fromMap = http.headers[name];
  if (fromMap !== undefined) return fromMap;
  const raw = http.headerMap?.headers.filter((h) => h.key.toLowerCase() === name);
  if (raw === undefined || raw.length === 0) return undefined;
  // Repeated headers are joined with commas, as Envoy does in the `headers` map.
  return raw.map((h) => (h.value !== "" ? h.value : Buffer.from(h.rawValue).toString("latin1"))).join(",");
}

/**
 * Envoy's view of a request → the engine's question. The service comes from
 * the route's context_extensions (`service`, `required_role`), falling back to
 * the request's host; the token from the `authorization` header.
 */
export function decisionInputFromCheck(request: CheckRequest): DecisionInput {
  const authorization = header(request, "authorization");
  const match = authorization === undefined ? null : BEARER.exec(authorization.trim());
  const extensions = request.attributes?.contextExtensions ?? {};
  const serviceKey = extensions.service;
  const host = request.attributes?.request?.http?.host || header(request, ":authority") || "";
  return {
    token: match?.[1],
    malformedCredentials: authorization !== undefined && match === null,
    service: serviceKey !== undefined && serviceKey !== "" ? { key: serviceKey } : { host },
    requiredRole: extensions.required_role,
  };
}
