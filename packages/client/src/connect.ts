import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { AccessRequirement, GatehouseAuth } from "./gatehouse-auth.ts";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { type GatehouseIdentity, identityOf } from "./http-answers.ts";

/** The caller of an allowed RPC: `context.values.get(kGatehouseIdentity)` in a handler. */
export const kGatehouseIdentity = createContextKey<GatehouseIdentity | undefined>(undefined, {
  description: "Gatehouse identity",
});

const CODES = {
  unauthenticated: Code.Unauthenticated,
  denied: Code.PermissionDenied,
  unavailable: Code.Unavailable,
};

/**
 * A Connect interceptor (connect-node's adapters, any protocol): an allowed
 * call carries its identity in the context values under kGatehouseIdentity;
 * a refused one fails with UNAUTHENTICATED, PERMISSION_DENIED or UNAVAILABLE
 * and a google.rpc.ErrorInfo naming Gatehouse's reason (domain "gatehouse").
 *
 * @example
 * connectNodeAdapter({ routes, interceptors: [gatehouseInterceptor(auth)] });
 */
export function gatehouseInterceptor(auth: GatehouseAuth, requirement?: AccessRequirement): Interceptor {
  return (next) => async (request) => {
    const decision = await auth.authorize(request.header.get("authorization") ?? undefined, requirement);
    if (decision.outcome !== "allowed") {
      throw new ConnectError(decision.message, CODES[decision.outcome], undefined, [
        { desc: ErrorInfoSchema, value: { reason: decision.reason, domain: "gatehouse" } },
      ]);
    }
    request.contextValues.set(kGatehouseIdentity, identityOf(decision));
    return next(request);
  };
}
