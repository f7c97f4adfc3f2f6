import type { Config } from "../config/config.ts";
import type { DecisionEngine } from "../domain/decision/decision-engine.ts";
import type { OidcClientDirectory } from "../domain/oidc/oidc-client.ts";
import { TokenIntrospection } from "../domain/oidc/token-introspection.ts";
import { TokenRevocation } from "../domain/oidc/token-revocation.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { IdentityProvider } from "../domain/ports/identity-provider.ts";
import type { SessionStore } from "../domain/ports/session-store.ts";
import type { RateLimitSettings } from "../domain/rate-limit/call-limits.ts";
import type { RateLimiter } from "../domain/rate-limit/rate-limiter.ts";
import type { RevocationStore } from "../domain/revocation/revocation-store.ts";
import type { HttpHandler } from "../server/http-handler.ts";
import { authenticateClient, presentedClient } from "../server/oidc/client-authentication.ts";
import { CLIENT_AUTHENTICATION, requesterOf, spendClientBudget } from "../server/oidc/oidc-http.ts";
import {
  type ClientAuthenticator,
  INTROSPECTION_PATH,
  introspectionRoute,
  REVOCATION_PATH,
  revocationRoute,
} from "../server/oidc/token-management-routes.ts";

/** What discovery says of these endpoints and of back-channel logout (backchannel-logout-dispatcher.ts). */
export function oidcTokenEndpointsMetadata(issuer: string): Record<string, unknown> {
  const methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"];
  return {
    introspection_endpoint: `${issuer}${INTROSPECTION_PATH}`,
    introspection_endpoint_auth_methods_supported: methods,
    revocation_endpoint: `${issuer}${REVOCATION_PATH}`,
    // A public client names itself to revoke its own tokens.
    revocation_endpoint_auth_methods_supported: [...methods, "none"],
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  };
}

/**
 * The OpenID Provider's introspection (RFC 7662) and revocation (RFC 7009)
 * endpoints, built-in provider only: under Keycloak the realm serves its own.
 */
export function oidcTokenEndpoints(deps: {
  config: Config;
  engine: DecisionEngine;
  clients: OidcClientDirectory;
  sessions: SessionStore;
  provider: IdentityProvider;
  revocations: RevocationStore;
  store: CoordinationStore;
  limiter: RateLimiter;
  rateLimit: RateLimitSettings;
}): Map<string, HttpHandler> {
  const { config } = deps;
  if (config.identity.provider.kind !== "local") return new Map();
  const issuer = config.identity.issuer;
  const authenticate: ClientAuthenticator = async (authorization, form, request) => {
    const presented = presentedClient(authorization, form);
    // Each attempt guesses a secret: the token endpoint's budgets, shared with it.
    await spendClientBudget(
      deps,
      CLIENT_AUTHENTICATION,
      requesterOf(request, config.server.trustedProxyHops).ip,
      presented?.clientId ?? "",
    );
    return authenticateClient(presented, {
      clients: deps.clients,
      // An assertion (private_key_jwt) may name the issuer or the endpoint it is sent to.
      audiences: [issuer, `${issuer}${INTROSPECTION_PATH}`, `${issuer}${REVOCATION_PATH}`],
      store: deps.store,
      clockSkewSeconds: config.decision.clockSkewSeconds,
    });
  };
  const introspection = new TokenIntrospection({ engine: deps.engine, sessions: deps.sessions, issuer });
  const revocation = new TokenRevocation({
    engine: deps.engine,
    sessions: deps.sessions,
    provider: deps.provider,
    revocations: deps.revocations,
    clockSkewSeconds: config.decision.clockSkewSeconds,
  });
  return new Map([
    [INTROSPECTION_PATH, introspectionRoute(introspection, authenticate)],
    [REVOCATION_PATH, revocationRoute(revocation, authenticate)],
  ]);
}
