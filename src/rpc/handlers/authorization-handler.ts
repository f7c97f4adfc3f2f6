import type { ServiceImpl } from "@connectrpc/connect";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import type { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { decisionInputFromCheck } from "../envoy/check-request.ts";
import { checkResponseFor, type IdentityHeaderNames } from "../envoy/check-response.ts";

/** envoy.service.auth.v3.Authorization: Envoy's ext_authz asks before each request reaches a service. */
export function createAuthorizationHandler(
  engine: DecisionEngine,
  names: IdentityHeaderNames,
): Partial<ServiceImpl<typeof Authorization>> {
  return {
    async check(request) {
      return checkResponseFor(await engine.decide(decisionInputFromCheck(request)), names);
    },
  };
}
