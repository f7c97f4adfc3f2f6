import type { IncomingHttpHeaders } from "node:http";
import type { AccessRequirement, GatehouseAuth } from "./gatehouse-auth.ts";
import { type GatehouseIdentity, identityOf, refusalResponse } from "./http-answers.ts";

/** The parts of a Fastify request the hook uses (structural: no dependency on fastify's types). */
export interface FastifyRequestLike {
  readonly headers: IncomingHttpHeaders;
  gatehouse?: GatehouseIdentity | null;
}

/** The parts of a Fastify reply the hook uses. */
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: string): FastifyReplyLike;
}

/**
 * A Fastify `onRequest` hook: an allowed request gets `request.gatehouse`
 * ({ principal, role }); a refused one is answered 401, 403 or 503 with
 * Gatehouse's reason. Declare the property once with
 * `app.decorateRequest("gatehouse", null)`.
 *
 * @example
 * app.decorateRequest("gatehouse", null);
 * app.addHook("onRequest", gatehouseFastify(auth));
 */
export function gatehouseFastify(
  auth: GatehouseAuth,
  requirement?: AccessRequirement,
): (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown> {
  return async (request, reply) => {
    const decision = await auth.authorize(request.headers.authorization, requirement);
    if (decision.outcome === "allowed") {
      request.gatehouse = identityOf(decision);
      return undefined;
    }
    const answer = refusalResponse(decision);
    // Returning the reply tells Fastify the hook answered: the route never runs.
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  };
}
