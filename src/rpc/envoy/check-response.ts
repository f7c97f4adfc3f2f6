import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { LRUCache } from "lru-cache";
import type { Decision } from "../../domain/decision/decision-engine.ts";
import {
  type HeaderValueOption,
  HeaderValueOption_HeaderAppendAction,
  HeaderValueOptionSchema,
} from "../../gen/envoy/config/core/v3/base_pb.js";
import { type CheckResponse, CheckResponseSchema } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { StatusCode } from "../../gen/envoy/type/v3/http_status_pb.js";

/** The upstream headers Gatehouse sets on allowed requests (names configurable). */
export interface IdentityHeaderNames {
  readonly userIdHeader: string;
  readonly usernameHeader: string;
  readonly roleHeader: string;
  readonly sessionHeader: string;
}

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

// Every header we add says how: Envoy's default append behaviour differs between versions.
const setHeader = (key: string, value: string): HeaderValueOption =>
  create(HeaderValueOptionSchema, {
    header: { key, value },
    appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
  });

/**
 * The engine's answer → Envoy's. Every denial is a successful RPC whose
 * `status` is UNAUTHENTICATED (HTTP 401, with WWW-Authenticate) or
 * PERMISSION_DENIED (403); only infrastructure failures are RPC errors, so
 * Envoy's failure_mode_allow can never turn a denial into an allow.
 */
export function checkResponseFor(decision: Decision, names: IdentityHeaderNames): CheckResponse {
  if (decision.outcome === "unauthenticated") {
    const challenge =
      decision.reason === "missing_token"
        ? 'Bearer realm="gatehouse"'
        : `Bearer realm="gatehouse", error="invalid_token", error_description="${decision.message}"`;
    return denied(GRPC_UNAUTHENTICATED, StatusCode.Unauthorized, decision.reason, decision.message, {
      error: decision.reason === "missing_token" ? "unauthorized" : "invalid_token",
      challenge,
    });
  }
  const metadata: JsonObject = {
    principal_kind: decision.subject.kind,
    subject_id: decision.subject.id,
    username: decision.subject.name,
    session_id: decision.claims.sessionId,
    service: decision.service?.slug ?? "",
    service_role: decision.role ?? "",
  };
  if (decision.outcome === "denied") {
    const reason = decision.reason ?? "forbidden";
    return denied(GRPC_PERMISSION_DENIED, StatusCode.Forbidden, reason, forbiddenMessage(reason), {
      error: "forbidden",
      metadata: { ...metadata, reason },
    });
  }
  const headers = [
    setHeader(names.userIdHeader, decision.subject.id),
    setHeader(names.usernameHeader, decision.subject.name),
    setHeader(names.roleHeader, decision.role ?? ""),
  ];
  // Copies of our headers sent by the client are overwritten above, or removed when we have no value.
  const headersToRemove: string[] = [];
  if (decision.claims.sessionId !== "")
    headers.push(setHeader(names.sessionHeader, decision.claims.sessionId));
  else headersToRemove.push(names.sessionHeader);
  return create(CheckResponseSchema, {
    status: { code: GRPC_OK, message: "" },
    httpResponse: { case: "okResponse", value: { headers, headersToRemove } },
    dynamicMetadata: metadata,
  });
}

/**
 * checkResponseFor, remembering each distinct answer: the same subject,
 * session, service and role (or the same denial) get the same CheckResponse
 * object, so that warm Checks neither build nor, on the gRPC fast path, encode
 * it again. The key holds every field the response is made from. Callers must
 * not modify the responses.
 */
export function createCheckResponder(
  names: IdentityHeaderNames,
  maxEntries = 10_000,
): (decision: Decision) => CheckResponse {
  const answers = new LRUCache<string, CheckResponse>({ max: maxEntries });
  // A remembered decision is the same object each time: its answer is found without building a key.
  const byDecision = new WeakMap<Decision, CheckResponse>();
  return (decision) => {
    const known = byDecision.get(decision);
    if (known !== undefined) return known;
    const key = answerKey(decision);
    let response = answers.get(key);
    if (response === undefined) {
      response = checkResponseFor(decision, names);
      answers.set(key, response);
    }
    byDecision.set(decision, response);
    return response;
  };
}

function answerKey(decision: Decision): string {
  if (decision.outcome === "unauthenticated") return `u\0${decision.reason}\0${decision.message}`;
  const { subject, claims } = decision;
  return `${decision.outcome}\0${decision.reason ?? ""}\0${subject.kind}\0${subject.id}\0${subject.name}\0${claims.sessionId}\0${decision.service?.slug ?? ""}\0${decision.role ?? ""}`;
}

function forbiddenMessage(reason: string): string {
  switch (reason) {
    case "unknown_service":
      return "the requested service is not registered";
    case "service_disabled":
      return "the requested service is disabled";
    case "no_grant":
      return "no access to this service";
    case "insufficient_role":
      return "the role held on this service is not sufficient";
    case "unknown_role":
      return "the route requires a role the service does not define";
    default:
      return "access denied";
  }
}

function denied(
  grpcCode: number,
  httpStatus: StatusCode,
  reason: string,
  message: string,
  options: { error: string; challenge?: string; metadata?: JsonObject },
): CheckResponse {
  const headers = [setHeader("content-type", "application/json"), setHeader("cache-control", "no-store")];
  if (options.challenge !== undefined) headers.push(setHeader("www-authenticate", options.challenge));
  return create(CheckResponseSchema, {
    status: { code: grpcCode, message },
    httpResponse: {
      case: "deniedResponse",
      value: {
        status: { code: httpStatus },
        headers,
        body: JSON.stringify({ error: options.error, reason, message }),
      },
    },
    dynamicMetadata: options.metadata ?? { reason },
  });
}
