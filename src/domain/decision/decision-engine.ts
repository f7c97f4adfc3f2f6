import { hash } from "node:crypto";
import { isDomainError } from "../errors.ts";
import { highestRole, roleRank, type ServiceRecord } from "../registry/service-record.ts";
import type { RevocationRegistry } from "../revocation/revocation-registry.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../tokens/access-token.ts";
import { isCanonicalCompactJws } from "../tokens/compact-jws.ts";
import type { AccessDirectory } from "./access-directory.ts";
import type { ServiceDirectory } from "./service-directory.ts";
import { SieveCache } from "./sieve-cache.ts";
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
/** Claims or a failure, stored as they are (no wrapper object per entry). */
type Verification = AccessTokenClaims | VerificationFailure;
const isFailure = (verification: Verification): verification is VerificationFailure =>
  "reason" in verification;

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

const TOKEN_EXPIRED: VerificationFailure = {
  reason: "token_expired",
  message: "the access token has expired",
};

const NON_CANONICAL: VerificationFailure = {
  reason: "malformed_token",
  message: "the access token is not in its canonical encoding",
};

/** Hot (token, service, role) questions whose answers are remembered whole; see DecisionEngine.decide. */
const MAX_REMEMBERED_DECISIONS = 10_000;

interface RememberedDecision {
  /** The whole token: the key holds only its signature (see questionKey). */
  readonly token: string;
  readonly decision: Decision;
  /** The change generation it was made in: any later change makes it stale. */
  readonly generation: number;
  // Until when it holds (the token's expiry, the subject cache's lifetime) is its deadline in the cache.
}

export interface DecisionEngineOptions {
  /** Most verified tokens remembered; 0 disables the cache (and the decision memo). */
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
  /**
   * Keyed by the token's SHA-256 as a 32-character one-byte string; SIEVE with
   * TinyLFU admission, so a working set larger than the cache keeps hitting.
   */
  private readonly tokens: SieveCache<string, Verification> | undefined;
  /** SIEVE with admission too: more hot questions than it holds still hit on the part that fits. */
  private readonly decisions: SieveCache<string, RememberedDecision> | undefined;
  /** Bumped by every change the feed delivers (revocations, access, services). */
  private generation = 0;
  private readonly skewMs: number;
  private readonly now: () => number;
  private readonly onDecision: ((decision: Decision) => void) | undefined;

  constructor(
    deps: {
      verifier: AccessTokenVerifier;
      revocations: RevocationRegistry;
      access: AccessDirectory;
      services: ServiceDirectory;
      /** Every change that can alter a decision (the change feed). */
      changes: { onChange(listener: () => void): void };
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
        ? new SieveCache<string, Verification>(options.tokenCacheSize, { hash: digestHash })
        : undefined;
    this.decisions =
      options.tokenCacheSize > 0
        ? new SieveCache<string, RememberedDecision>(
            Math.min(options.tokenCacheSize, MAX_REMEMBERED_DECISIONS),
            { hash: questionHash },
          )
        : undefined;
    deps.changes.onChange(() => {
      this.generation++;
    });
    // The directory swaps a reloaded registry in after the change was heard: answers made meanwhile go too.
    deps.services.onSwap(() => {
      this.generation++;
    });
  }

  /**
   * The same question (token, service, least role) asked again gets the same
   * answer without hashing, cache lookups or a decision: mesh traffic repeats
   * its questions. A remembered answer is dropped by any change the feed
   * delivers (here or from another replica), by the token's expiry and when the
   * subject's cached access would expire, so it is never staler than what it was
   * made from; an answer made while a change arrived is never used again.
   */
  async decide(input: DecisionInput, options: { notRemembered?: boolean } = {}): Promise<Decision> {
    const key = questionKey(input);
    // notRemembered: remembered() was just asked this question and had no answer (asking the memo
    // again would count the question twice in its admission sketch).
    const hit =
      key === undefined || options.notRemembered === true ? undefined : this.rememberedFor(key, input.token!);
    if (hit !== undefined) {
      this.onDecision?.(hit);
      return hit;
    }
    const generation = this.generation;
    const made = await this.evaluate(input);
    const decision = made.decision;
    if (key !== undefined && made.validUntil !== undefined && generation === this.generation) {
      this.decisions?.set(key, { token: input.token!, decision, generation }, made.validUntil, this.now());
    }
    this.onDecision?.(decision);
    return decision;
  }

  /**
   * The remembered answer to this question, synchronously, or undefined (then
   * ask decide). For callers that answer a hit without a promise (the gRPC
   * fast path's Check); the answer is decide's, counted as one.
   */
  remembered(input: DecisionInput): Decision | undefined {
    const key = questionKey(input);
    const hit = key === undefined ? undefined : this.rememberedFor(key, input.token!);
    if (hit !== undefined) this.onDecision?.(hit);
    return hit;
  }

  private rememberedFor(key: string, token: string): Decision | undefined {
    // Past its validUntil (the entry's deadline) get() answers nothing.
    const remembered = this.decisions?.get(key, this.now());
    if (remembered === undefined || remembered.token !== token || remembered.generation !== this.generation)
      return undefined;
    return remembered.decision;
  }

  /** Tokens remembered, for metrics and the memory benchmark. */
  cachedTokens(): number {
    return this.tokens?.size ?? 0;
  }

  /** Subjects whose status and grants are held in memory. */
  cachedSubjects(): number {
    return this.access.size();
  }

  /** Answers remembered whole (see decide). */
  rememberedDecisions(): number {
    return this.decisions?.size ?? 0;
  }

  /**
   * A decision, and until when (engine clock) it may be remembered; undefined: not
   * at all. Only a token seen before is remembered, so that a flood of distinct
   * tokens (each seen once) costs the memo nothing and evicts nothing from it.
   */
  private async evaluate(input: DecisionInput): Promise<{ decision: Decision; validUntil?: number }> {
    if (input.token === undefined) {
      return {
        decision: input.malformedCredentials
          ? unauthenticated("malformed_authorization", "the authorization header is not a bearer token")
          : unauthenticated("missing_token", "a bearer access token is required"),
      };
    }
    const { verified, seenBefore } = await this.verify(input.token);
    if (isFailure(verified)) {
      const { reason, message } = verified;
      const remember = seenBefore && PERMANENT_REASONS.has(reason);
      return {
        decision: unauthenticated(reason, message),
        validUntil: remember ? this.now() + NEGATIVE_CACHE_TTL_MS : undefined,
      };
    }
    const claims = verified;
    const expiry = claims.expiresAt * 1000 + this.skewMs;
    const revoked = this.revocations.reasonFor(claims);
    if (revoked !== undefined) {
      return {
        decision: unauthenticated(revoked, "the access token has been revoked"),
        validUntil: seenBefore ? expiry : undefined,
      };
    }
    const decision = await this.decideFor(claims, input);
    if (!seenBefore) return { decision };
    // No longer than the subject's access stays in memory without a change being heard.
    const subjectFor = this.access.remainingMs(claims.kind, claims.subjectId);
    return { decision, validUntil: Math.min(expiry, this.now() + subjectFor) };
  }

  /** The decision for a verified, unrevoked token. */
  private async decideFor(claims: AccessTokenClaims, input: DecisionInput): Promise<Decision> {
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

  /** The token's verification, and whether it was remembered from an earlier request. */
  private async verify(token: string): Promise<{ verified: Verification; seenBefore: boolean }> {
    const key = this.tokens === undefined ? "" : hash("sha256", token, "binary");
    // An entry's deadline is the token's expiry (with the skew): expired claims are never returned.
    const cached = this.tokens?.get(key, this.now());
    if (cached !== undefined) return { verified: cached, seenBefore: true };
    // Only on a miss: a cached entry was canonical when it was verified (or is a failure).
    if (!isCanonicalCompactJws(token)) {
      this.tokens?.set(key, NON_CANONICAL, this.now() + NEGATIVE_CACHE_TTL_MS, this.now());
      return { verified: NON_CANONICAL, seenBefore: false };
    }
    try {
      const claims = await this.verifier.verifyAccessToken(token);
      const expiry = claims.expiresAt * 1000 + this.skewMs;
      // The verifier checks `exp` on its own clock; the engine's (the cache's) is the one that counts here.
      if (expiry <= this.now()) return { verified: TOKEN_EXPIRED, seenBefore: false };
      this.tokens?.set(key, claims, expiry, this.now());
      return { verified: claims, seenBefore: false };
    } catch (error) {
      if (!isDomainError(error) || error.kind !== "unauthenticated") throw error;
      const failure: VerificationFailure = { reason: error.reason, message: error.message };
      if (PERMANENT_REASONS.has(error.reason))
        this.tokens?.set(key, failure, this.now() + NEGATIVE_CACHE_TTL_MS, this.now());
      return { verified: failure, seenBefore: false };
    }
  }
}

/**
 * What a decision depends on besides the state the change feed keeps current,
 * with the token shortened to its signature: hashing a whole token for every
 * lookup cost as much as the decision. The remembered entry keeps the whole
 * token, and a hit must match it.
 */
function questionKey(input: DecisionInput): string | undefined {
  const token = input.token;
  if (token === undefined) return undefined;
  const signature = token.slice(token.lastIndexOf(".") + 1);
  const service =
    input.service === undefined
      ? ""
      : "key" in input.service
        ? `k${input.service.key}`
        : `h${input.service.host}`;
  return `${signature}\n${service}\n${input.requiredRole ?? ""}`;
}

/**
 * The sketch's hash for a question key: the last eight characters of the
 * token's signature (random in any real token) and the key's length.
 */
function questionHash(key: string): number {
  const end = key.indexOf("\n");
  let hashed = 0x811c9dc5 ^ key.length;
  for (let i = Math.max(0, end - 8); i < end; i++) hashed = Math.imul(hashed ^ key.charCodeAt(i), 0x01000193);
  return hashed;
}

/** The sketch's hash for a digest key: its first four bytes, already uniform. */
function digestHash(key: string): number {
  return key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16) | (key.charCodeAt(3) << 24);
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
