import { hash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { isDomainError } from "../errors.ts";
import { highestRole, roleRank, type ServiceRecord } from "../registry/service-record.ts";
import type { RevocationRegistry } from "../revocation/revocation-registry.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../tokens/access-token.ts";
import type { AccessDirectory } from "./access-directory.ts";
import type { ServiceDirectory } from "./service-directory.ts";
import type { SubjectAccess } from "./subject-access.ts";

/** Which service a request is for: by id or slug, or by the request's host. */
export type ServiceSelector = { readonly key: string } | { readonly host: string };

export interface DecisionInput {
  /** The bearer token; undefined when the request carried none. */
  readonly token: string | undefined;
  /** Set when an authorization header was present but not a bearer token. */
  readonly malformedCredentials?: boolean;
  /** Undefined: check the token and the account only. */
  readonly service?: ServiceSelector;
  /** The least role needed on the service. */
  readonly requiredRole?: string;
}

/** The token is missing, invalid, revoked, or its subject may not act: 401. */
export interface Unauthenticated {
  readonly outcome: "unauthenticated";
  readonly reason: string;
  readonly message: string;
}

/** A valid token and an active subject; allowed, or denied access to the service (403). */
export interface Authenticated {
  readonly outcome: "allowed" | "denied";
  readonly claims: AccessTokenClaims;
  readonly subject: SubjectAccess;
  readonly service: ServiceRecord | undefined;
  /** The highest role held on the service; undefined if none. */
  readonly role: string | undefined;
  /** Why access was denied (undefined when allowed). */
  readonly reason: string | undefined;
}

export type Decision = Unauthenticated | Authenticated;

/**
 * A failure is remembered by its reason and message only, never as the Error:
 * an Error keeps its captured stack frames and, through them, the request
 * that raised it — tens of kilobytes per entry, so a flood of distinct forged
 * tokens filled DECISION_CACHE_SIZE entries with gigabytes (see BENCHMARKS.md).
 */
type VerificationFailure = { readonly reason: string; readonly message: string };
type CachedVerification = { readonly claims: AccessTokenClaims } | { readonly failure: VerificationFailure };

const TOKEN_EXPIRED: VerificationFailure = {
  reason: "token_expired",
  message: "the access token has expired",
};

/** Failures that depend only on the token's bytes: safe to remember. */
const PERMANENT_REASONS = new Set([
  "invalid_signature",
  "malformed_token",
  "unsupported_algorithm",
  "wrong_issuer",
  "wrong_audience",
  "token_expired",
]);
const NEGATIVE_CACHE_TTL_MS = 60_000;

export interface DecisionEngineOptions {
  /** Most verified tokens remembered; 0 disables the cache. */
  readonly tokenCacheSize: number;
  readonly clockSkewSeconds: number;
  readonly now?: () => number;
  readonly onDecision?: (decision: Decision) => void;
}

/**
 * One decision for every front door (VerifyToken, Envoy's Check, Gatehouse's
 * own RPCs): the token is verified (signature, issuer, audience, time), not
 * revoked, its subject exists and is active, and — when a service is named —
 * the subject holds a grant on it at or above the required role.
 *
 * With warm caches no step leaves the process: verified tokens are remembered
 * until they expire, and revocations, services and subjects' access are held
 * in memory and kept current by the change feed.
 */
export class DecisionEngine {
  private readonly verifier: AccessTokenVerifier;
  private readonly revocations: RevocationRegistry;
  private readonly access: AccessDirectory;
  private readonly services: ServiceDirectory;
  private readonly tokens: LRUCache<string, CachedVerification> | undefined;
  private readonly skewMs: number;
  private readonly now: () => number;
  private readonly onDecision: ((decision: Decision) => void) | undefined;

  constructor(
    deps: {
      verifier: AccessTokenVerifier;
      revocations: RevocationRegistry;
      access: AccessDirectory;
      services: ServiceDirectory;
    },
    options: DecisionEngineOptions,
  ) {
    this.verifier = deps.verifier;
    this.revocations = deps.revocations;
    this.access = deps.access;
    this.services = deps.services;
    this.skewMs = options.clockSkewSeconds * 1000;
    this.now = options.now ?? Date.now;
    this.onDecision = options.onDecision;
    this.tokens =
      options.tokenCacheSize > 0
        ? new LRUCache<string, CachedVerification>({ max: options.tokenCacheSize, ttlAutopurge: false })
        : undefined;
  }

  async decide(input: DecisionInput): Promise<Decision> {
    const decision = await this.evaluate(input);
    this.onDecision?.(decision);
    return decision;
  }

  /** Tokens remembered, for metrics and the memory benchmark. */
  cachedTokens(): number {
    return this.tokens?.size ?? 0;
  }

  private async evaluate(input: DecisionInput): Promise<Decision> {
    if (input.token === undefined) {
      return input.malformedCredentials
        ? unauthenticated("malformed_authorization", "the authorization header is not a bearer token")
        : unauthenticated("missing_token", "a bearer access token is required");
    }
    const verified = await this.verify(input.token);
    if ("failure" in verified) return unauthenticated(verified.failure.reason, verified.failure.message);
    const claims = verified.claims;

    const revoked = this.revocations.reasonFor(claims);
    if (revoked !== undefined) return unauthenticated(revoked, "the access token has been revoked");

    const subject = await this.access.get(claims.kind, claims.subjectId);
    if (subject === undefined)
      return unauthenticated("unknown_subject", "the token's subject no longer exists");
    if (!subject.active) return unauthenticated("account_disabled", "the account is disabled");

    if (input.service === undefined)
      return authenticated("allowed", claims, subject, undefined, undefined, undefined);
    const service =
      "key" in input.service
        ? await this.services.byKey(input.service.key)
        : await this.services.byHostName(input.service.host);
    if (service === undefined)
      return authenticated("denied", claims, subject, undefined, undefined, "unknown_service");
    const role = highestRole(service, subject.grants.get(service.id) ?? []);
    if (service.status !== "active")
      return authenticated("denied", claims, subject, service, role, "service_disabled");
    if (role === undefined) return authenticated("denied", claims, subject, service, undefined, "no_grant");
    if (input.requiredRole !== undefined && input.requiredRole !== "") {
      const required = roleRank(service, input.requiredRole);
      if (required < 0) return authenticated("denied", claims, subject, service, role, "unknown_role");
      if (roleRank(service, role) < required) {
        return authenticated("denied", claims, subject, service, role, "insufficient_role");
      }
    }
    return authenticated("allowed", claims, subject, service, role, undefined);
  }

  private async verify(token: string): Promise<CachedVerification> {
    const key = this.tokens === undefined ? "" : hash("sha256", token, "base64");
    const cached = this.tokens?.get(key);
    if (cached !== undefined) {
      if ("claims" in cached && cached.claims.expiresAt * 1000 + this.skewMs <= this.now()) {
        return { failure: TOKEN_EXPIRED };
      }
      return cached;
    }
    try {
      const claims = await this.verifier.verifyAccessToken(token);
      const ttl = claims.expiresAt * 1000 + this.skewMs - this.now();
      if (ttl > 0) this.tokens?.set(key, { claims }, { ttl });
      return { claims };
    } catch (error) {
      if (!isDomainError(error) || error.kind !== "unauthenticated") throw error;
      const failure: VerificationFailure = { reason: error.reason, message: error.message };
      if (PERMANENT_REASONS.has(error.reason))
        this.tokens?.set(key, { failure }, { ttl: NEGATIVE_CACHE_TTL_MS });
      return { failure };
    }
  }
}

function unauthenticated(reason: string, message: string): Unauthenticated {
  return { outcome: "unauthenticated", reason, message };
}

function authenticated(
  outcome: "allowed" | "denied",
  claims: AccessTokenClaims,
  subject: SubjectAccess,
  service: ServiceRecord | undefined,
  role: string | undefined,
  reason: string | undefined,
): Authenticated {
  return { outcome, claims, subject, service, role, reason };
}
