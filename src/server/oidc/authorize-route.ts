import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { HttpHandler } from "../http-handler.ts";
import { html } from "../pages/html.ts";
import { readForm, singleValued } from "./form-body.ts";
import { type OidcHttpDeps, requesterOf, sendOutcome } from "./oidc-http.ts";

/**
 * The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2.1: GET and
 * POST). It takes no CSRF token: relying parties on other origins send the
 * browser here by design, and it changes nothing but a pending request; the
 * user's own answers (sign-in, consent) are the CSRF-protected forms.
 */
export function authorizeRoute(deps: OidcHttpDeps): HttpHandler {
  return (request, response) => {
    void (async () => {
      if (request.method !== "GET" && request.method !== "POST") {
        deps.shell.methodNotAllowed(response, ["GET", "POST"]);
        return;
      }
      let params: Map<string, string>;
      try {
        params =
          request.method === "POST"
            ? await readForm(request)
            : singleValued(new URL(request.url ?? "/", "http://gatehouse.invalid").searchParams);
      } catch (error) {
        // Before the client is known a repeated parameter cannot be redirected: an error page.
        const message = error instanceof OAuthError ? error.description : "the request could not be read";
        sendOutcome(deps, request, response, {
          kind: "error_page",
          message: `The request is malformed: ${message}.`,
        });
        return;
      }
      const outcome = await deps.oidc.authorize(
        params,
        deps.cookie.sessionId(request),
        requesterOf(request, deps.trustedProxyHops),
      );
      sendOutcome(deps, request, response, outcome);
    })().catch((error: unknown) => {
      deps.logger.error({ err: error }, "authorization endpoint failed");
      if (response.headersSent) return;
      deps.shell.send(request, response, {
        status: 500,
        title: "Something went wrong",
        body: html`<p>The sign-in request could not be handled. Please try again.</p>`,
      });
    });
  };
}
