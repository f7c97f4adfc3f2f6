import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { OidcClient } from "../../domain/oidc/oidc-client.ts";
import type { TokenIntrospection, TokenTypeHint } from "../../domain/oidc/token-introspection.ts";
import type { TokenRevocation } from "../../domain/oidc/token-revocation.ts";
import type { HttpHandler, HttpRequest } from "../http-handler.ts";
import { readForm } from "./form-body.ts";
import { sendJson, sendOAuthError } from "./oauth-response.ts";

export const INTROSPECTION_PATH = "/oidc/introspect";
export const REVOCATION_PATH = "/oidc/revoke";

/** Authenticates the calling client from the Authorization header and the form (client-authentication.ts). */
export type ClientAuthenticator = (
  authorization: string | undefined,
  form: ReadonlyMap<string, string>,
  /** Who is asking (for the per-IP budgets of guessing a secret). */
  request: HttpRequest,
) => Promise<OidcClient>;

function tokenTypeHint(form: ReadonlyMap<string, string>): TokenTypeHint {
  const hint = form.get("token_type_hint");
  return hint === "access_token" || hint === "refresh_token" ? hint : undefined;
}

/**
 * A form body naming the token and the calling client. `publicClients`: a
 * public client, which has nothing to prove who it is, may revoke its own
 * tokens (RFC 7009 §5: a browser app's logout) but not introspect.
 */
async function tokenRequest(
  request: HttpRequest,
  authenticate: ClientAuthenticator,
  options: { publicClients: boolean },
): Promise<{ client: OidcClient; token: string; hint: TokenTypeHint }> {
  const form = await readForm(request);
  const authorization = request.headers.authorization;
  const client = await authenticate(
    typeof authorization === "string" ? authorization : undefined,
    form,
    request,
  );
  if (client.type !== "confidential" && !options.publicClients) {
    throw new OAuthError(
      "invalid_client",
      "only an authenticated confidential client may call this endpoint",
    );
  }
  const token = form.get("token");
  if (token === undefined || token === "") throw new OAuthError("invalid_request", "token is required");
  return { client, token, hint: tokenTypeHint(form) };
}

function postOnly(handler: HttpHandler): HttpHandler {
  return (request, response) => {
    if (request.method !== "POST") {
      request.resume();
      response.statusCode = 405;
      response.setHeader("allow", "POST");
      response.end();
      return;
    }
    return handler(request, response);
  };
}

/**
 * RFC 7662 token introspection: 200 with `{active: …}` for any token, 401
 * invalid_client (with WWW-Authenticate) unless the caller is an
 * authenticated confidential client. The token is never logged.
 */
export function introspectionRoute(
  introspection: TokenIntrospection,
  authenticate: ClientAuthenticator,
): HttpHandler {
  return postOnly(async (request, response) => {
    try {
      const { client, token, hint } = await tokenRequest(request, authenticate, { publicClients: false });
      sendJson(response, 200, await introspection.introspect(client, token, hint));
    } catch (error) {
      sendOAuthError(response, error);
    }
  });
}

/**
 * RFC 7009 token revocation: 200 with an empty body, also for unknown tokens
 * (§2.2); a confidential client authenticates, a public one names itself.
 */
export function revocationRoute(revocation: TokenRevocation, authenticate: ClientAuthenticator): HttpHandler {
  return postOnly(async (request, response) => {
    try {
      const { client, token, hint } = await tokenRequest(request, authenticate, { publicClients: true });
      await revocation.revoke(client, token, hint);
      response.statusCode = 200;
      response.setHeader("cache-control", "no-store");
      response.end();
    } catch (error) {
      sendOAuthError(response, error);
    }
  });
}
