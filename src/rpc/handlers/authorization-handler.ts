import type { ServiceImpl } from "@connectrpc/connect";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import type { Authorization, CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { type CheckFacts, checkFactsOf, decisionInputFrom } from "../envoy/check-request.ts";
import { createCheckResponder, type IdentityHeaderNames } from "../envoy/check-response.ts";

/** Envoy's Check from what it reads of the request: for Connect and for the gRPC fast path alike. */
export type EnvoyCheck = (facts: CheckFacts) => Promise<CheckResponse>;

export function createEnvoyCheck(engine: DecisionEngine, names: IdentityHeaderNames): EnvoyCheck {
  const respond = createCheckResponder(names);
  return async (facts) => respond(await engine.decide(decisionInputFrom(facts)));
}

/** envoy.service.auth.v3.Authorization: Envoy's ext_authz asks before each request reaches a service. */
export function createAuthorizationHandler(check: EnvoyCheck): ServiceImpl<typeof Authorization> {
  return { check: (request) => check(checkFactsOf(request)) };
}
