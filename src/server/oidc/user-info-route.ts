import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { HttpHandler, HttpResponse } from "../http-handler.ts";
import { sendJson } from "./oauth-response.ts";
import type { OidcHttpDeps } from "./oidc-http.ts";

function bearerError(response: HttpResponse, status: number, error: string, description: string): void {
  // RFC 6750 §3: the challenge says what was wrong with the token.
  response.setHeader("www-authenticate", `Bearer error="${error}", error_description="${description}"`);
  sendJson(response, status, { error, error_description: description });
}

/**
 * UserInfo (OIDC Core §5.3): GET or POST with the access token as a Bearer
 * header. The token is checked by the decision engine — the one VerifyToken
 * and Check use, revocations included — then the claims its scope allows.
 */
export function userInfoRoute(deps: OidcHttpDeps): HttpHandler {
  return (request, response) => {
    void (async () => {
      if (request.method !== "GET" && request.method !== "POST") {
        response.setHeader("allow", "GET, POST");
        response.statusCode = 405;
        response.end();
        return;
      }
      request.resume();
      const header = request.headers.authorization ?? "";
      const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
      if (match === null) {
        response.setHeader("www-authenticate", 'Bearer realm="gatehouse"');
        sendJson(response, 401, {
          error: "invalid_token",
          error_description: "a Bearer access token is required",
        });
        return;
      }
      const decision = await deps.engine.decide({ token: match[1] });
      if (decision.outcome === "unauthenticated") {
        bearerError(response, 401, "invalid_token", "the access token is not valid");
        return;
      }
      if (decision.claims.kind !== "user") {
        bearerError(response, 403, "insufficient_scope", "the access token is not a user's");
        return;
      }
      try {
        sendJson(response, 200, await deps.oidc.userInfo(decision.claims.subjectId, decision.claims.scope));
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        bearerError(
          response,
          error.error === "insufficient_scope" ? 403 : 401,
          error.error,
          error.description,
        );
      }
    })().catch((error: unknown) => {
      deps.logger.error({ err: error }, "userinfo failed");
      if (!response.headersSent) sendJson(response, 500, { error: "server_error" });
    });
  };
}
