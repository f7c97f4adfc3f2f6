import { SCOPE_DESCRIPTIONS } from "../../domain/oidc/scopes.ts";
import type { HttpHandler } from "../http-handler.ts";
import { csrfInput } from "../pages/csrf.ts";
import { html } from "../pages/html.ts";
import { pageRoute } from "../pages/page-route.ts";
import { CONSENT_PATH, type OidcHttpDeps, requesterOf, sendOutcome } from "./oidc-http.ts";

/** The consent page for clients not marked first-party: what the client asks for, Allow or Deny. */
export function consentRoute(deps: OidcHttpDeps): [string, HttpHandler] {
  const { shell } = deps;
  const expired = (request: Parameters<HttpHandler>[0], response: Parameters<HttpHandler>[1]) =>
    shell.send(request, response, {
      status: 400,
      title: "This request has expired",
      lede: "Go back to the application and start again.",
      body: html``,
    });
  return [
    CONSENT_PATH,
    pageRoute(shell, deps.logger, {
      async get({ request, response, query }) {
        const pendingId = query.get("pending") ?? "";
        const pending = await deps.oidc.pending(pendingId);
        if (pending === undefined) return expired(request, response);
        const token = await shell.csrf.issue(request, response);
        shell.send(request, response, {
          title: "Allow access?",
          lede: `${pending.clientName} asks to:`,
          policy: { extraFormActions: [pending.request.redirectUri] },
          body: html`<ul>${pending.request.scopes.map((scope) => html`<li>${SCOPE_DESCRIPTIONS[scope] ?? scope}</li>`)}</ul>
<form method="post" action="${CONSENT_PATH}">
${csrfInput(token)}
<input type="hidden" name="pending" value="${pendingId}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
        });
      },
      async post({ request, response }, form) {
        const outcome = await deps.oidc.consent(
          form.get("pending") ?? "",
          deps.cookie.sessionId(request),
          form.get("decision") === "allow",
          requesterOf(request, deps.trustedProxyHops),
        );
        sendOutcome(deps, request, response, outcome);
      },
    }),
  ];
}
