import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccessRequirement, GatehouseAuth } from "./gatehouse-auth.ts";
import { type GatehouseIdentity, identityOf, refusalResponse } from "./http-answers.ts";

/** An Express (or plain Node) request after the middleware let it through. */
export interface RequestWithGatehouse extends IncomingMessage {
  gatehouse?: GatehouseIdentity;
}

/**
 * Express middleware (any `(req, res, next)` stack on Node's http): an allowed
 * request gets `req.gatehouse` ({ principal, role }); a refused one is answered
 * 401, 403 or 503 with Gatehouse's reason and never reaches the route.
 *
 * @example
 * app.use(gatehouseExpress(auth));                                  // the service's default requirement
 * app.post("/invoices", gatehouseExpress(auth, { service: "billing", requiredRole: "editor" }), handler);
 */
export function gatehouseExpress(
  auth: GatehouseAuth,
  requirement?: AccessRequirement,
): (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void {
  return (request, response, next) => {
    auth.authorize(request.headers.authorization, requirement).then((decision) => {
      if (decision.outcome === "allowed") {
        (request as RequestWithGatehouse).gatehouse = identityOf(decision);
        next();
        return;
      }
      const answer = refusalResponse(decision);
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
    }, next);
  };
}
