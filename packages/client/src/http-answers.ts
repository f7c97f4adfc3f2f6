import type { AuthDecision, Principal } from "./gatehouse-auth.ts";

/** What the middleware gives handlers about an allowed request. */
export interface GatehouseIdentity {
  readonly principal: Principal;
  /** The highest role held on the service ("" when no service is checked). */
  readonly role: string;
  readonly source: "local" | "verify_token";
}

export type Refusal = Exclude<AuthDecision, { outcome: "allowed" }>;

/**
 * The HTTP answer to a refused request, as Envoy in front of Gatehouse gives
 * it (check-response.ts): JSON `{error, reason, message}`, no caching, and a
 * `WWW-Authenticate` challenge on 401.
 */
export function refusalResponse(decision: Refusal): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const headers: Record<string, string> = { "content-type": "application/json", "cache-control": "no-store" };
  let error = "forbidden";
  if (decision.outcome === "unauthenticated") {
    error = decision.reason === "missing_token" ? "unauthorized" : "invalid_token";
    headers["www-authenticate"] =
      decision.reason === "missing_token"
        ? 'Bearer realm="gatehouse"'
        : `Bearer realm="gatehouse", error="invalid_token", error_description="${decision.message}"`;
  } else if (decision.outcome === "unavailable") {
    error = "temporarily_unavailable";
    headers["retry-after"] = "1";
  }
  return {
    status: decision.status,
    headers,
    body: JSON.stringify({ error, reason: decision.reason, message: decision.message }),
  };
}

export function identityOf(decision: Extract<AuthDecision, { outcome: "allowed" }>): GatehouseIdentity {
  return { principal: decision.principal, role: decision.role, source: decision.source };
}
