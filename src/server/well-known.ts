import type { JWK } from "jose";
import { getOrHeadOnly, type HttpHandler } from "./http-handler.ts";

export const JWKS_PATH = "/.well-known/jwks.json";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";

const json = (body: () => unknown): HttpHandler =>
  getOrHeadOnly((request, response) => {
    response.statusCode = 200;
    response.setHeader("content-type", "application/json");
    // Verifiers may cache; a new signing key is published well before it signs.
    response.setHeader("cache-control", "public, max-age=300");
    if (request.method === "HEAD") response.end();
    else response.end(JSON.stringify(body()));
  });

/**
 * The issuer's public keys (RFC 7517 JWK Set: the ES256 and RS256 rings) and
 * the OpenID Provider Metadata (OIDC Discovery 1.0, RFC 8414): exactly the
 * endpoints, grants and methods that are served, nothing more.
 * `vocabulary`: the scopes and user claims the OpenID Provider serves (its domain's lists, so
 * discovery cannot drift from them); `extraMetadata` is for endpoints wired elsewhere
 * (introspection, revocation).
 */
export function wellKnownRoutes(
  issuer: string,
  jwks: () => { keys: JWK[] },
  vocabulary: { readonly scopes: readonly string[]; readonly userClaims: readonly string[] },
  extraMetadata: Record<string, unknown> = {},
): Map<string, HttpHandler> {
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/oidc/authorize`,
    token_endpoint: `${issuer}/oidc/token`,
    userinfo_endpoint: `${issuer}/oidc/userinfo`,
    end_session_endpoint: `${issuer}/oidc/end-session`,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    scopes_supported: [...vocabulary.scopes],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256", "ES256"],
    token_endpoint_auth_methods_supported: [
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
      "none",
    ],
    token_endpoint_auth_signing_alg_values_supported: ["RS256", "ES256"],
    code_challenge_methods_supported: ["S256"],
    prompt_values_supported: ["none", "login"],
    // The tokens' own claims, then the user's (by scope), each once.
    claims_supported: [
      ...new Set([
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "amr",
        "sid",
        "azp",
        ...vocabulary.userClaims,
      ]),
    ],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    ...extraMetadata,
  };
  return new Map([
    [JWKS_PATH, json(jwks)],
    [DISCOVERY_PATH, json(() => metadata)],
  ]);
}
