import type { ServiceImpl } from "@connectrpc/connect";
import type { DecisionEngine } from "../../domain/decision/decision-engine.ts";
import type {
  Authorization,
  CheckRequest,
  CheckResponse,
} from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { decisionInputFromCheck } from "../envoy/check-request.ts";
import { checkResponseFor, type IdentityHeaderNames } from "../envoy/check-response.ts";

export type EnvoyCheck = (request: CheckRequest) => Promise<CheckResponse>;

/** Envoy's Check as one function, for Connect and for the gRPC fast path alike. */
export function createEnvoyCheck(engine: DecisionEngine, names: IdentityHeaderNames): EnvoyCheck {
  return async (request) => checkResponseFor(await engine.decide(decisionInputFromCheck(request)), names);
}

/** envoy.service.auth.v3.Authorization: Envoy's ext_authz asks before each request reaches a service. */
export function createAuthorizationHandler(check: EnvoyCheck): Partial<ServiceImpl<typeof Authorization>> {
  return { check };
}
