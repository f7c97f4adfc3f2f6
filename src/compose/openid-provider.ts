import type { Config } from "../config/config.ts";
import type { AuditLog } from "../domain/audit/audit-log.ts";
import type { OidcClientDirectory } from "../domain/oidc/oidc-client.ts";
import { OpenIdProvider } from "../domain/oidc/openid-provider.ts";
import type { CoordinationStore } from "../domain/ports/coordination-store.ts";
import type { RateLimiter } from "../domain/rate-limit/rate-limiter.ts";
import type { ServiceRepository } from "../domain/registry/service-repository.ts";
import type { UserRepository } from "../domain/users/user-repository.ts";
import type { Logger } from "../observability/logger.ts";
import type { HttpHandler } from "../server/http-handler.ts";
import { authorizeRoute } from "../server/oidc/authorize-route.ts";
import { consentRoute } from "../server/oidc/consent-page.ts";
import { endSessionRoute } from "../server/oidc/end-session-route.ts";
import {
  AUTHORIZE_PATH,
  END_SESSION_PATH,
  type OidcHttpDeps,
  TOKEN_PATH,
  USERINFO_PATH,
} from "../server/oidc/oidc-http.ts";
import { signInRoutes } from "../server/oidc/sign-in-pages.ts";
import { SsoCookie } from "../server/oidc/sso-cookie.ts";
import { tokenRoute } from "../server/oidc/token-route.ts";
import { userInfoRoute } from "../server/oidc/user-info-route.ts";
import type { PageShell } from "../server/pages/page-shell.ts";
import type { DomainServices } from "./domain-services.ts";
import type { LocalOpenIdProviderParts } from "./identity.ts";

export interface OpenIdProviderWiring {
  readonly config: Config;
  readonly parts: LocalOpenIdProviderParts;
  readonly services: DomainServices;
  readonly clients: OidcClientDirectory;
  readonly users: UserRepository;
  readonly serviceRepository: ServiceRepository;
  readonly store: CoordinationStore;
  readonly audit: AuditLog;
  readonly pages: PageShell;
  /** The RPCs' limiter: the forms spend the same budgets. */
  readonly limiter: RateLimiter;
  readonly logger: Logger;
}

/**
 * The built-in OpenID Provider's routes (IDENTITY_PROVIDER=local only): on
 * the same AuthService, sessions, key rings, rate limits and decision engine
 * as the RPCs. Under Keycloak the browser flow is Keycloak's.
 */
export function openIdProviderRoutes(wiring: OpenIdProviderWiring): Array<[string, HttpHandler]> {
  const { config, parts, services, store, logger } = wiring;
  const issuer = config.identity.issuer;
  const oidc = new OpenIdProvider({
    settings: {
      issuer,
      audience: config.identity.audience,
      idTokenTtlSeconds: config.identity.accessTokenTtlSeconds,
      accessTokenTtlSeconds: config.identity.accessTokenTtlSeconds,
    },
    clients: wiring.clients,
    sessions: parts.sessions,
    signer: parts.idTokens,
    users: wiring.users,
    store,
    audit: wiring.audit,
    // RFC 8707: a resource is named by the audience of an active registered service.
    audienceOf: async (resource) =>
      (await wiring.serviceRepository.all()).find(
        (service) => service.status === "active" && service.audience !== "" && service.audience === resource,
      )?.audience,
  });
  const deps: OidcHttpDeps = {
    oidc,
    auth: services.auth,
    engine: services.engine,
    shell: wiring.pages,
    cookie: new SsoCookie({ secure: issuer.startsWith("https:"), mac: parts.cookieMac }),
    limiter: wiring.limiter,
    rateLimit: config.rateLimit,
    clientAuthentication: {
      clients: wiring.clients,
      audiences: [issuer, `${issuer}${TOKEN_PATH}`, `${issuer}/oidc/introspect`, `${issuer}/oidc/revoke`],
      store,
      clockSkewSeconds: config.decision.clockSkewSeconds,
    },
    trustedProxyHops: config.server.trustedProxyHops,
    sessionMaxLifetimeSeconds: config.identity.sessionMaxLifetimeSeconds,
    signupEnabled: config.identity.signupEnabled,
    // The hosted pages' passkey sign-in is AuthService's, the code behind Begin/FinishPasskeySignIn.
    passkeys: services.auth.passkeysAvailable ? services.auth : undefined,
    logger: logger.child({ component: "openid-provider" }),
  };
  return [
    [AUTHORIZE_PATH, authorizeRoute(deps)],
    [TOKEN_PATH, tokenRoute(deps)],
    [USERINFO_PATH, userInfoRoute(deps)],
    [END_SESSION_PATH, endSessionRoute(deps)],
    ...signInRoutes(deps),
    consentRoute(deps),
  ];
}
