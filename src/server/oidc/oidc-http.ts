import type { AuthService } from "../../domain/auth/auth-service.ts";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import type { AuthorizationOutcome, OpenIdProvider } from "../../domain/oidc/openid-provider.ts";
import { clientSecretLimits, type RateLimitSettings } from "../../domain/rate-limit/call-limits.ts";
import type { RateLimiter } from "../../domain/rate-limit/rate-limiter.ts";
import type { Logger } from "../../observability/logger.ts";
import { requestIdFrom } from "../../observability/request-id.ts";
import { clientAddress } from "../client-address.ts";
import type { HttpRequest, HttpResponse } from "../http-handler.ts";
import { html } from "../pages/html.ts";
import type { PageShell } from "../pages/page-shell.ts";
import type { ClientAuthenticationDeps } from "./client-authentication.ts";
import type { PasskeySignIn } from "./passkey-form.ts";
import type { SsoCookie } from "./sso-cookie.ts";

export const AUTHORIZE_PATH = "/oidc/authorize";
export const TOKEN_PATH = "/oidc/token";
export const USERINFO_PATH = "/oidc/userinfo";
export const END_SESSION_PATH = "/oidc/end-session";
export const SIGN_IN_PATH = "/signin";
export const MFA_PATH = "/signin/mfa";
export const CONSENT_PATH = "/consent";

/** What the OpenID Provider's routes share. */
export interface OidcHttpDeps {
  readonly oidc: OpenIdProvider;
  readonly auth: AuthService;
  readonly engine: DecisionEngine;
  readonly shell: PageShell;
  readonly cookie: SsoCookie;
  readonly limiter: RateLimiter;
  readonly rateLimit: RateLimitSettings;
  readonly clientAuthentication: ClientAuthenticationDeps;
  readonly trustedProxyHops: number;
  /** How long the SSO cookie is kept (the session's own lifetime bounds it anyway). */
  readonly sessionMaxLifetimeSeconds: number;
  readonly signupEnabled: boolean;
  /** The passkey sign-in (passwordless and as the MFA step); absent when passkeys are off. */
  readonly passkeys?: PasskeySignIn | undefined;
  readonly logger: Logger;
}

/** The budget key of the OAuth endpoints' client authentication (token, introspection, revocation). */
export const CLIENT_AUTHENTICATION = "oidc/client-authentication";
/** Spends a client-authentication attempt's budgets: per IP, and per client id (clientSecretLimits). */
export async function spendClientBudget(
  deps: Pick<OidcHttpDeps, "limiter" | "rateLimit">,
  method: string,
  ip: string,
  clientId: string,
): Promise<void> {
  if (!deps.rateLimit.enabled) return;
  await deps.limiter.consume(clientSecretLimits(deps.rateLimit, { method, ip, clientId }));
}

/** Who is calling, as the audit log, sessions and rate limits see it (the RPCs' kPeer, for HTTP). */
export function requesterOf(request: HttpRequest, trustedProxyHops: number) {
  return {
    ip: clientAddress(request.socket?.remoteAddress, request.headers["x-forwarded-for"], trustedProxyHops),
    requestId: requestIdFrom(request.headers["x-request-id"] as string | undefined),
    userAgent: String(request.headers["user-agent"] ?? "").slice(0, 512),
  };
}

/**
 * Sends an authorization outcome: an error page (400, never a redirect), a
 * redirect to the client (302 after a GET, 303 after a form POST so that the
 * browser GETs it), or on to the hosted sign-in or consent step.
 */
export function sendOutcome(
  deps: OidcHttpDeps,
  request: HttpRequest,
  response: HttpResponse,
  outcome: AuthorizationOutcome,
): void {
  const status = request.method === "POST" ? 303 : 302;
  switch (outcome.kind) {
    case "error_page":
      deps.shell.send(request, response, {
        status: 400,
        title: "Sign-in request refused",
        lede: outcome.message,
        body: html`<p>Go back to the application and try again. If it keeps happening, tell its administrator.</p>`,
      });
      return;
    case "redirect":
      redirect(response, status, outcome.location);
      return;
    case "sign_in": {
      const query = new URLSearchParams({ pending: outcome.pendingId });
      if (outcome.loginHint !== undefined) query.set("login_hint", outcome.loginHint);
      redirect(response, status, `${SIGN_IN_PATH}?${query}`);
      return;
    }
    case "consent":
      redirect(response, status, `${CONSENT_PATH}?${new URLSearchParams({ pending: outcome.pendingId })}`);
      return;
  }
}

export function redirect(response: HttpResponse, status: number, location: string): void {
  response.statusCode = status;
  response.setHeader("location", location);
  response.setHeader("cache-control", "no-store");
  response.end();
}
