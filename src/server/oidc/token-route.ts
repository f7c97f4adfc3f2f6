import { isDomainError } from "../../domain/errors.ts";
import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { IssuedTokens } from "../../domain/ports/identity-provider.ts";
import { CLIENT_CREDENTIALS } from "../../domain/rate-limit/call-limits.ts";
import type { HttpHandler } from "../http-handler.ts";
import { authenticateClient, presentedClient } from "./client-authentication.ts";
import { readForm } from "./form-body.ts";
import { sendJson, sendOAuthError } from "./oauth-response.ts";
import { CLIENT_AUTHENTICATION, type OidcHttpDeps, requesterOf, spendClientBudget } from "./oidc-http.ts";

/**
 * The token endpoint (RFC 6749 §3.2): authorization_code and refresh_token
 * for registered OIDC clients (authenticated as ./client-authentication.ts
 * says), client_credentials for Gatehouse's service accounts — the same
 * AuthService.clientCredentialsToken as the ClientCredentialsToken RPC, with
 * the account's client id and secret in HTTP Basic or the form.
 */
export function tokenRoute(deps: OidcHttpDeps): HttpHandler {
  return (request, response) => {
    void (async () => {
      if (request.method !== "POST") {
        response.setHeader("allow", "POST");
        response.statusCode = 405;
        response.end();
        return;
      }
      const form = await readForm(request);
      const requester = requesterOf(request, deps.trustedProxyHops);
      const grantType = form.get("grant_type");
      const presented = presentedClient(request.headers.authorization, form);
      // Each attempt guesses a secret: it spends per-IP and per-client budgets, client credentials
      // the ClientCredentialsToken RPC's own (a second door is not a way around the first).
      await spendClientBudget(
        deps,
        grantType === "client_credentials" ? CLIENT_CREDENTIALS : CLIENT_AUTHENTICATION,
        requester.ip,
        presented?.clientId ?? "",
      );
      switch (grantType) {
        case "authorization_code": {
          const client = await authenticateClient(presented, deps.clientAuthentication);
          sendJson(response, 200, await deps.oidc.exchangeCode(client, form, requester));
          return;
        }
        case "refresh_token": {
          const client = await authenticateClient(presented, deps.clientAuthentication);
          sendJson(response, 200, await deps.oidc.refresh(client, form, requester));
          return;
        }
        case "client_credentials": {
          if (presented === undefined || !("secret" in presented)) {
            throw new OAuthError(
              "invalid_client",
              "authenticate with the service account's client id and secret",
            );
          }
          const scope = form.get("scope");
          let tokens: IssuedTokens;
          try {
            tokens = await deps.auth.clientCredentialsToken(
              {
                clientId: presented.clientId,
                clientSecret: presented.secret,
                ...(scope === undefined ? {} : { scope }),
              },
              requester,
            );
          } catch (error) {
            if (isDomainError(error) && error.kind === "unauthenticated") {
              throw new OAuthError("invalid_client", "client authentication failed");
            }
            if (isDomainError(error) && error.kind === "invalid_argument") {
              throw new OAuthError("invalid_scope", error.message);
            }
            throw error;
          }
          sendJson(response, 200, {
            access_token: tokens.accessToken,
            token_type: "Bearer",
            expires_in: Math.max(0, Math.round((tokens.accessTokenExpiresAt.getTime() - Date.now()) / 1000)),
          });
          return;
        }
        case undefined:
        case "":
          throw new OAuthError("invalid_request", "grant_type is required");
        default:
          throw new OAuthError("unsupported_grant_type", "the grant type is not served");
      }
    })().catch((error: unknown) => {
      if (isDomainError(error) && error.kind === "unavailable") {
        error = new OAuthError("temporarily_unavailable", "try again shortly", { cause: error });
      } else if (
        !(error instanceof OAuthError) &&
        !(isDomainError(error) && error.kind === "resource_exhausted")
      ) {
        deps.logger.error({ err: error }, "token endpoint failed");
      }
      if (!response.headersSent) sendOAuthError(response, error);
    });
  };
}
