import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { EndSessionOutcome } from "../../domain/oidc/openid-provider.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "../http-handler.ts";
import { CSRF_FIELD, csrfInput } from "../pages/csrf.ts";
import { readForm as readPageForm } from "../pages/form.ts";
import { html } from "../pages/html.ts";
import { readForm, singleValued } from "./form-body.ts";
import { END_SESSION_PATH, type OidcHttpDeps, redirect, requesterOf } from "./oidc-http.ts";

const FORWARDED = ["id_token_hint", "post_logout_redirect_uri", "state", "client_id"];

/**
 * RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2, GET or POST). With an
 * id_token_hint for the browser's session it ends the session at once;
 * otherwise it asks the user, with a CSRF-protected form (a cross-site page
 * must not sign people out). The SSO cookie is cleared either way.
 */
export function endSessionRoute(deps: OidcHttpDeps): HttpHandler {
  const { shell } = deps;
  return (request, response) => {
    void (async () => {
      let params: Map<string, string>;
      let confirmed = false;
      if (request.method === "GET") {
        params = singleValued(new URL(request.url ?? "/", "http://gatehouse.invalid").searchParams);
      } else if (request.method === "POST") {
        // The confirmation form carries a CSRF token; a relying party's POST does not.
        const type = String(request.headers["content-type"] ?? "");
        if (type.startsWith("application/x-www-form-urlencoded")) {
          const form = await readPageForm(request);
          if (form.has(CSRF_FIELD)) {
            if (!(await shell.csrf.verify(request, form))) {
              shell.send(request, response, {
                status: 403,
                title: "This form has expired",
                body: html`<p>Go back, reload the page and try again.</p>`,
              });
              return;
            }
            confirmed = form.get("confirm") === "yes";
          }
          form.delete(CSRF_FIELD);
          form.delete("confirm");
          params = singleValued(form);
        } else {
          params = await readForm(request);
        }
      } else {
        shell.methodNotAllowed(response, ["GET", "POST"]);
        return;
      }
      const outcome = await deps.oidc.endSession(
        params,
        deps.cookie.sessionId(request),
        confirmed,
        requesterOf(request, deps.trustedProxyHops),
      );
      await send(deps, request, response, outcome, params);
    })().catch((error: unknown) => {
      if (!(error instanceof OAuthError)) deps.logger.error({ err: error }, "end-session failed");
      if (response.headersSent) return;
      shell.send(request, response, {
        status: error instanceof OAuthError ? 400 : 500,
        title: "Sign-out failed",
        body: html`<p>The sign-out request could not be handled.</p>`,
      });
    });
  };
}

async function send(
  deps: OidcHttpDeps,
  request: HttpRequest,
  response: HttpResponse,
  outcome: EndSessionOutcome,
  params: ReadonlyMap<string, string>,
): Promise<void> {
  const { shell } = deps;
  switch (outcome.kind) {
    case "error_page":
      shell.send(request, response, {
        status: 400,
        title: "Sign-out request refused",
        lede: outcome.message,
        body: html``,
      });
      return;
    case "confirm": {
      const token = await shell.csrf.issue(request, response);
      const redirectUri = params.get("post_logout_redirect_uri");
      shell.send(request, response, {
        title: "Sign out?",
        lede: "An application asks to sign you out.",
        policy: redirectUri === undefined ? {} : { extraFormActions: [redirectUri] },
        body: html`<form method="post" action="${END_SESSION_PATH}">
${csrfInput(token)}
${FORWARDED.filter((name) => params.has(name)).map(
  (name) => html`<input type="hidden" name="${name}" value="${params.get(name)!}">`,
)}
<button type="submit" name="confirm" value="yes">Sign out</button>
</form>`,
      });
      return;
    }
    case "signed_out":
      deps.cookie.clear(response);
      if (outcome.location !== undefined) {
        redirect(response, request.method === "POST" ? 303 : 302, outcome.location);
        return;
      }
      shell.send(request, response, {
        title: "You are signed out",
        body: html`<p>You can close this window.</p>`,
      });
      return;
  }
}
