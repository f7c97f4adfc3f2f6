import { create } from "@bufbuild/protobuf";
import type { Authenticated, DecisionEngine } from "../../domain/decision/decision-engine.ts";
import { DomainError } from "../../domain/errors.ts";
import {
  type VerifyTokenRequest,
  type VerifyTokenResponse,
  VerifyTokenResponseSchema,
} from "../../gen/gatehouse/v1/auth_pb.js";
import { type User, UserSchema, UserStatus } from "../../gen/gatehouse/v1/types_pb.js";
import { toTimestamp } from "../mappers/timestamps.ts";
import { toUserMessage } from "../mappers/user-mapper.ts";

/**
 * AuthService.VerifyToken: the decision engine's answer for API services
 * (seed 003's verify-token). An invalid, expired or revoked token, or an
 * inactive subject, is UNAUTHENTICATED; a valid token without access to the
 * named service succeeds with service_access.granted = false and the reason —
 * the same cases Envoy's Check answers with 401 and 403. Connect and the fast
 * paths (gRPC and Connect JSON) serve this same function.
 */
export function createVerifyTokenHandler(engine: DecisionEngine) {
  // The engine answers a repeated question with the same decision object (its memo): the
  // answer built from it is kept beside it, so a warm call neither builds nor (on the fast
  // paths, which encode an answer object once) encodes. The answer depends on the decision
  // and on how the request named the service, which the entry records.
  const answers = new WeakMap<Authenticated, RememberedAnswer>();
  return async (request: VerifyTokenRequest): Promise<VerifyTokenResponse> => {
    // The engine resolves a key as an id or a slug; the request's rules allow one of the two.
    const serviceKey = request.serviceId !== "" ? request.serviceId : request.serviceSlug;
    const decision = await engine.decide({
      token: request.token,
      service: serviceKey === "" ? undefined : { key: serviceKey },
      requiredRole: request.requiredRole,
    });
    if (decision.outcome === "unauthenticated") {
      throw new DomainError("unauthenticated", decision.reason, decision.message);
    }
    const remembered = answers.get(decision);
    if (
      remembered !== undefined &&
      remembered.serviceKey === serviceKey &&
      remembered.serviceId === request.serviceId
    ) {
      return remembered.response;
    }
    const response = answerFor(decision, serviceKey, request.serviceId);
    answers.set(decision, { serviceKey, serviceId: request.serviceId, response });
    return response;
  };
}

interface RememberedAnswer {
  readonly serviceKey: string;
  readonly serviceId: string;
  readonly response: VerifyTokenResponse;
}

function answerFor(decision: Authenticated, serviceKey: string, serviceId: string): VerifyTokenResponse {
  return create(VerifyTokenResponseSchema, {
    user: principalUser(decision),
    session:
      decision.claims.sessionId === ""
        ? undefined
        : {
            id: decision.claims.sessionId,
            userId: decision.subject.id,
            clients: [decision.claims.clientId],
          },
    serviceAccess:
      serviceKey === ""
        ? undefined
        : {
            serviceId: decision.service?.id ?? serviceId,
            serviceName: decision.service?.displayName ?? "",
            granted: decision.outcome === "allowed",
            role: decision.role ?? "",
            serviceStatus: decision.service?.status ?? "",
            denialReason: decision.reason ?? "",
          },
    principalKind: decision.subject.kind,
    tokenExpireTime: toTimestamp(new Date(decision.claims.expiresAt * 1000)),
  });
}

function principalUser(decision: Authenticated): User {
  if (decision.subject.user !== undefined) return create(UserSchema, toUserMessage(decision.subject.user));
  // A service account, described as a principal.
  return create(UserSchema, {
    id: decision.subject.id,
    username: decision.subject.name,
    status: decision.subject.active ? UserStatus.ACTIVE : UserStatus.DISABLED,
  });
}
