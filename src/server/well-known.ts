import type { JWK } from "jose";
import type { HttpHandler } from "./http-handler.ts";

export const JWKS_PATH = "/.well-known/jwks.json";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";

const json =
  (body: () => unknown): HttpHandler =>
  (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.statusCode = 405;
      response.setHeader("allow", "GET, HEAD");
      response.end();
      return;
    }
    response.statusCode = 200;
    response.setHeader("content-type", "application/json");
    // Verifiers may cache; a new signing key is published well before it signs.
    response.setHeader("cache-control", "public, max-age=300");
    if (request.method === "HEAD") response.end();
    else response.end(JSON.stringify(body()));
  };

/**
 * The issuer's public keys (RFC 7517 JWK Set) and an OpenID Provider
 * Metadata document pointing at them, so that any OIDC or JOSE library can
 * verify our access tokens. There are no browser flows (no authorization
 * endpoint): tokens come from the Connect/gRPC API.
 */
export function wellKnownRoutes(issuer: string, jwks: () => { keys: JWK[] }): Map<string, HttpHandler> {
  const metadata = {
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    grant_types_supported: ["password", "refresh_token", "client_credentials"],
    response_types_supported: ["none"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["ES256"],
    token_endpoint_auth_methods_supported: ["client_secret_post"],
    // RFC 7662 and RFC 7009 (src/server/oidc/token-management-routes.ts).
    introspection_endpoint: `${issuer}/oidc/introspect`,
    introspection_endpoint_auth_methods_supported: [
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
    ],
    revocation_endpoint: `${issuer}/oidc/revoke`,
    revocation_endpoint_auth_methods_supported: [
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
      "none",
    ],
    // OIDC Back-Channel Logout 1.0: logout tokens carry `sid` (src/domain/oidc/backchannel-logout-dispatcher.ts).
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    claims_supported: ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "client_id", "azp", "gh_kind"],
  };
  return new Map([
    [JWKS_PATH, json(jwks)],
    [DISCOVERY_PATH, json(() => metadata)],
  ]);
}
