import type { ServiceImpl } from "@connectrpc/connect";
import type { CheckCallerPolicy } from "../../domain/decision/check-callers.ts";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import { DomainError } from "../../domain/errors.ts";
import type { Authorization, CheckResponse } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { kPeer } from "../context.ts";
import {
  type CheckFacts,
  checkFactsOf,
  decisionInputFrom,
  rememberedQuestion,
} from "../envoy/check-request.ts";
import { createCheckResponder, type IdentityHeaderNames } from "../envoy/check-response.ts";

/**
 * Envoy's Check from what it reads of the request: for Connect and for the gRPC fast path alike.
 * A question answered before is answered at once, without a promise.
 */
export type EnvoyCheck = (facts: CheckFacts) => CheckResponse | Promise<CheckResponse>;

export function createEnvoyCheck(engine: DecisionEngine, names: IdentityHeaderNames): EnvoyCheck {
  const respond = createCheckResponder(names);
  return (facts) => {
    // A question asked before carries a token already checked against the bearer syntax: a
    // remembered answer must match the whole token, so the check need not run again for it.
    const likely = rememberedQuestion(facts);
    const remembered = likely === undefined ? undefined : engine.remembered(likely);
    if (remembered !== undefined) return respond(remembered);
    const input = decisionInputFrom(facts);
    // The same question (the same token; service and role are read alike) was just looked up.
    const notRemembered = likely !== undefined && likely.token === input.token;
    return engine.decide(input, { notRemembered }).then(respond);
  };
}

/**
 * envoy.service.auth.v3.Authorization: Envoy's ext_authz asks before each
 * request reaches a service. With a caller policy (CHECK_ALLOWED_SPIFFE_IDS)
 * only workloads whose verified client certificate names an allowed SPIFFE id
 * may ask; others get PERMISSION_DENIED (an error, not a denial: the caller
 * is misconfigured, not the request it asks about).
 */
export function createAuthorizationHandler(
  check: EnvoyCheck,
  callers?: CheckCallerPolicy,
): ServiceImpl<typeof Authorization> {
  if (callers === undefined) return { check: (request) => check(checkFactsOf(request)) };
  return {
    check: (request, context) => {
      if (!callers(context.values.get(kPeer).spiffeId)) throw checkCallerRefused();
      return check(checkFactsOf(request));
    },
  };
}

export const checkCallerRefused = () =>
  new DomainError(
    "permission_denied",
    "check_caller_not_allowed",
    "this workload may not call Check: its client certificate names no SPIFFE id in CHECK_ALLOWED_SPIFFE_IDS",
  );
