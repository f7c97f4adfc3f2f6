import { isDomainError } from "../../domain/errors.ts";
import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { HttpResponse } from "../http-handler.ts";

/** A JSON answer of the token-style endpoints: never cached (RFC 6749 §5.1). */
export function sendJson(response: HttpResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader("content-type", "application/json");
  response.setHeader("cache-control", "no-store");
  response.setHeader("pragma", "no-cache");
  response.end(JSON.stringify(body));
}

/**
 * RFC 6749 §5.2: 400 with `error` and `error_description`; invalid_client is
 * 401 with a WWW-Authenticate challenge (the client may have used Basic).
 * Anything that is not an OAuthError is a server_error without its message.
 */
export function sendOAuthError(response: HttpResponse, error: unknown): void {
  if (isDomainError(error) && error.kind === "resource_exhausted") {
    // Over a rate limit: RFC 6749 has no code for it; 429 (RFC 6585) with when to retry.
    response.setHeader("retry-after", String(Math.ceil((error.retryAfterMs ?? 60_000) / 1000)));
    sendJson(response, 429, {
      error: "invalid_request",
      error_description: "too many requests; try again later",
    });
    return;
  }
  const oauth =
    error instanceof OAuthError
      ? error
      : new OAuthError("server_error", "the request could not be completed");
  let status = oauth.error === "server_error" ? 500 : oauth.error === "temporarily_unavailable" ? 503 : 400;
  if (oauth.error === "invalid_client") {
    status = 401;
    response.setHeader("www-authenticate", 'Basic realm="gatehouse", error="invalid_client"');
  }
  sendJson(response, status, { error: oauth.error, error_description: oauth.description });
}
