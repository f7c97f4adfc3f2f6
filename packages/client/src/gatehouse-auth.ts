import { Code, ConnectError } from "@connectrpc/connect";
import {
  createRemoteJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { ChangeWatcher } from "./change-watcher.ts";
import type { GatehouseClient } from "./gatehouse-client.ts";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import { LocalState, type TokenFacts } from "./local-state.ts";

/** Who called, as the middleware established it. */
export interface Principal {
  readonly kind: "user" | "service_account";
  /** `sub`: the user id or service account id. */
  readonly subjectId: string;
  /** `sid`; empty for client-credentials tokens. */
  readonly sessionId: string;
  /** `jti`. */
  readonly tokenId: string;
  /** The OAuth client the token was issued to (`azp` / `client_id`). */
  readonly clientId: string;
  /** The username (or a service account's client id); empty when the decision needed no service. */
  readonly username: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Every claim of the verified token. */
  readonly claims: JWTPayload;
}

/**
 * The middleware's answer. `status` is the HTTP status to answer with;
 * `reason` is the same reason id Gatehouse's Check and VerifyToken give.
 */
export type AuthDecision =
  | {
      readonly outcome: "allowed";
      readonly status: 200;
      readonly principal: Principal;
      /** The highest role held on the service; empty when no service is configured. */
      readonly role: string;
      /** Where the answer came from: memory, or a VerifyToken round trip. */
      readonly source: "local" | "verify_token";
    }
  | {
      readonly outcome: "unauthenticated";
      readonly status: 401;
      readonly reason: string;
      readonly message: string;
    }
  | {
      readonly outcome: "denied";
      readonly status: 403;
      readonly reason: string;
      readonly message: string;
      readonly principal: Principal;
      readonly role: string;
    }
  | {
      /** Gatehouse could not be asked and local state is too stale to answer from: fail closed. */
      readonly outcome: "unavailable";
      readonly status: 503;
      readonly reason: "gatehouse_unavailable";
      readonly message: string;
    };

/** What a route needs: the service (slug or id) and the least role on it. */
export interface AccessRequirement {
  /** A registered service's slug or id; omitted: only the token and the account are checked. */
  readonly service?: string;
  /** The least role needed on the service. */
  readonly requiredRole?: string;
}

/** Options of {@link createGatehouseAuth}. */
export interface GatehouseAuthOptions extends AccessRequirement {
  /**
   * The Gatehouse client: VerifyToken goes through it, and WatchChanges, which
   * needs a caller allowed to watch (a service account holding a grant, or a
   * user with changes.watch): give it credentials.
   */
  readonly client: GatehouseClient;
  /** Gatehouse's issuer (its ISSUER setting): tokens must carry it in `iss`. */
  readonly issuer: string;
  /** Accepted `aud` values (Gatehouse's TOKEN_AUDIENCE; default "gatehouse"). */
  readonly audience?: string | readonly string[];
  /** Where the signing keys are published: `<Gatehouse URL>/.well-known/jwks.json`. */
  readonly jwksUrl: string | URL;
  /** Leeway on `exp` and `nbf` (default 30 s, as Gatehouse's CLOCK_SKEW_SECONDS). */
  readonly clockToleranceSeconds?: number;
  /**
   * While the change stream is down, every request is asked of VerifyToken;
   * when that fails too, local state up to this old still answers, and past
   * it requests are refused with 503 (fail closed). Default 30 s.
   */
  readonly maxStalenessMs?: number;
  /** Longest an access answer is kept without a change being heard (default 5 min). */
  readonly accessTtlMs?: number;
  /** Most verified tokens remembered (default 10,000; 0: none). */
  readonly tokenCacheSize?: number;
  /** WatchChanges: silence after which the stream is reopened (default 30 s). */
  readonly silenceTimeoutMs?: number;
  /** WatchChanges: the first reconnection delay (default 100 ms; doubled per failure, up to 5 s). */
  readonly reconnectBackoffMs?: number;
  /** Told when the change stream goes up or down. */
  readonly onStreamStatus?: (synced: boolean, error?: unknown) => void;
  /** A JWKS source other than jwksUrl (tests, a local key set). */
  readonly keys?: JWTVerifyGetKey;
}

/** Counters, for metrics and tests. */
export interface AuthStats {
  /** Answered from memory (local JWT check, revocations, remembered access). */
  local: number;
  /** Answered by a VerifyToken round trip. */
  verifyToken: number;
  /** Refused because Gatehouse was unreachable and local state too stale. */
  failedClosed: number;
}

/** The decision core that the Connect, Express and Fastify adapters share. */
export interface GatehouseAuth {
  /** Decides a request from its `authorization` header. */
  authorize(authorization: string | undefined, requirement?: AccessRequirement): Promise<AuthDecision>;
  /** Starts watching changes; resolves once synced, or after `timeoutMs` (default 5 s) regardless. */
  start(timeoutMs?: number): Promise<boolean>;
  /** Stops watching. */
  close(): Promise<void>;
  /** True while the change stream is up to date. */
  readonly synced: boolean;
  /** The watcher's cursor (what a reconnection resumes from). */
  readonly cursor: string;
  /** RESETs the watcher received (1 after the first connection; more: a cursor could not be resumed). */
  readonly resets: number;
  readonly stats: Readonly<AuthStats>;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** Mirrors Gatehouse's check-response.ts, so a service answers as Envoy in front of it would. */
export function forbiddenMessage(reason: string): string {
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

interface Verified {
  readonly principal: Omit<Principal, "username">;
  readonly facts: TokenFacts;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** Why the token cannot be checked locally: ask VerifyToken instead. */
const ASK_GATEHOUSE = Symbol("ask gatehouse");

/**
 * Decides requests locally: the bearer token's signature (JWKS, cached),
 * `iss`, `aud`, `exp` and `nbf`; then its revocation and the subject's access
 * from state kept current by WatchChanges. A subject's access to the service
 * is asked of VerifyToken once and remembered until a change says otherwise.
 * While the stream is down every request goes to VerifyToken.
 */
export function createGatehouseAuth(options: GatehouseAuthOptions): GatehouseAuth {
  const state = new LocalState();
  const stats: AuthStats = { local: 0, verifyToken: 0, failedClosed: 0 };
  const keys = options.keys ?? createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000 });
  const audience = options.audience === undefined ? "gatehouse" : [...[options.audience].flat()];
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const maxStalenessMs = options.maxStalenessMs ?? 30_000;
  const accessTtlMs = options.accessTtlMs ?? 300_000;
  const tokenCacheSize = options.tokenCacheSize ?? 10_000;
  const verifiedTokens = new Map<string, Verified>();
  const watcher = new ChangeWatcher(
    options.client.auth,
    { onReset: () => state.reset(), onChange: (change) => state.apply(change) },
    {
      silenceTimeoutMs: options.silenceTimeoutMs,
      initialBackoffMs: options.reconnectBackoffMs,
      // While the stream is down nothing is answered from state alone (see withFallback); the
      // resumed stream replays what was missed before it counts as synced again.
      onStatus: options.onStreamStatus,
    },
  );
  const sweeper = setInterval(() => {
    state.sweep();
    const now = Date.now();
    for (const [token, verified] of verifiedTokens)
      if (verified.expiresAt <= now) verifiedTokens.delete(token);
  }, 60_000);
  sweeper.unref();

  async function verifyLocally(token: string): Promise<Verified | AuthDecision | typeof ASK_GATEHOUSE> {
    const cached = verifiedTokens.get(token);
    const now = Date.now();
    if (cached !== undefined) {
      if (cached.expiresAt + clockTolerance * 1000 > now) return cached;
      verifiedTokens.delete(token);
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: audience as string | string[],
        clockTolerance,
        requiredClaims: ["sub", "exp", "iat"],
      });
      const verified = toVerified(payload);
      if (tokenCacheSize > 0) {
        if (verifiedTokens.size >= tokenCacheSize) verifiedTokens.delete(verifiedTokens.keys().next().value!);
        verifiedTokens.set(token, verified);
      }
      return verified;
    } catch (error) {
      return localFailure(error);
    }
  }

  /** The question's answer from VerifyToken, remembered while the stream is synced. */
  async function askGatehouse(
    token: string,
    requirement: AccessRequirement,
    verified: Verified | undefined,
  ): Promise<AuthDecision> {
    const generation = state.generation;
    const synced = watcher.synced;
    stats.verifyToken++;
    const service = requirement.service ?? "";
    const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(service);
    let response: Awaited<ReturnType<GatehouseClient["auth"]["verifyToken"]>>;
    try {
      response = await options.client.auth.verifyToken({
        token,
        serviceId: isId ? service : "",
        serviceSlug: isId ? "" : service,
        requiredRole: requirement.requiredRole ?? "",
      });
    } catch (error) {
      const connectError = ConnectError.from(error);
      if (connectError.code === Code.Unauthenticated) {
        const reason = connectError.findDetails(ErrorInfoSchema)[0]?.reason ?? "invalid_token";
        return { outcome: "unauthenticated", status: 401, reason, message: connectError.rawMessage };
      }
      if (connectError.code === Code.InvalidArgument) {
        return {
          outcome: "unauthenticated",
          status: 401,
          reason: "malformed_token",
          message: "the access token is malformed",
        };
      }
      throw error;
    }
    const kind = response.principalKind === "service_account" ? "service_account" : "user";
    const access = response.serviceAccess;
    const granted = service === "" || access?.granted === true;
    const answer = {
      granted,
      role: access?.role ?? "",
      denialReason: access?.denialReason ?? "",
      kind,
      username: response.user?.username ?? "",
      until: Date.now() + accessTtlMs,
    } as const;
    const principal: Principal = {
      ...(verified?.principal ?? principalFromResponse(response)),
      kind,
      username: answer.username,
    };
    if (verified !== undefined && synced)
      state.remember(principal.subjectId, questionOf(requirement), answer, generation);
    return decisionFrom(principal, answer, "verify_token");
  }

  async function authorize(
    authorization: string | undefined,
    requirement?: AccessRequirement,
  ): Promise<AuthDecision> {
    const need: AccessRequirement = requirement ?? {
      service: options.service,
      requiredRole: options.requiredRole,
    };
    if (authorization === undefined || authorization === "")
      return {
        outcome: "unauthenticated",
        status: 401,
        reason: "missing_token",
        message: "a bearer access token is required",
      };
    const token = BEARER.exec(authorization.trim())?.[1];
    if (token === undefined) {
      return {
        outcome: "unauthenticated",
        status: 401,
        reason: "malformed_authorization",
        message: "the authorization header is not a bearer token",
      };
    }
    const verified = await verifyLocally(token);
    if (verified !== ASK_GATEHOUSE && !("principal" in verified && "facts" in verified))
      return verified as AuthDecision;
    const local = verified === ASK_GATEHOUSE ? undefined : (verified as Verified);
    if (local === undefined || !watcher.synced) return withFallback(token, need, local);
    const revoked = state.revocationOf(local.facts);
    if (revoked !== undefined) {
      stats.local++;
      return {
        outcome: "unauthenticated",
        status: 401,
        reason: revoked,
        message: "the access token has been revoked",
      };
    }
    const answer = state.answer(local.facts.subjectId, questionOf(need));
    if (answer === undefined) return withFallback(token, need, local);
    stats.local++;
    return decisionFrom(
      { ...local.principal, kind: answer.kind, username: answer.username },
      answer,
      "local",
    );
  }

  /** VerifyToken; when Gatehouse cannot be reached, local state if fresh enough, else 503. */
  async function withFallback(
    token: string,
    need: AccessRequirement,
    local: Verified | undefined,
  ): Promise<AuthDecision> {
    try {
      return await askGatehouse(token, need, local);
    } catch (error) {
      const staleness = Date.now() - watcher.lastMessageAt;
      if (local !== undefined && watcher.lastMessageAt > 0 && staleness <= maxStalenessMs) {
        const revoked = state.revocationOf(local.facts);
        if (revoked !== undefined)
          return {
            outcome: "unauthenticated",
            status: 401,
            reason: revoked,
            message: "the access token has been revoked",
          };
        const answer = state.answer(local.facts.subjectId, questionOf(need));
        if (answer !== undefined) {
          stats.local++;
          return decisionFrom(
            { ...local.principal, kind: answer.kind, username: answer.username },
            answer,
            "local",
          );
        }
      }
      stats.failedClosed++;
      return {
        outcome: "unavailable",
        status: 503,
        reason: "gatehouse_unavailable",
        message: `Gatehouse could not be asked (${ConnectError.from(error).code === Code.Unavailable ? "unavailable" : "error"})`,
      };
    }
  }

  return {
    authorize,
    async start(timeoutMs = 5000) {
      watcher.start();
      return watcher.waitUntilSynced(timeoutMs);
    },
    async close() {
      clearInterval(sweeper);
      await watcher.stop();
    },
    get synced() {
      return watcher.synced;
    },
    get cursor() {
      return watcher.cursor;
    },
    get resets() {
      return watcher.resets;
    },
    stats,
  };
}

function questionOf(requirement: AccessRequirement): string {
  return `${requirement.service ?? ""}\n${requirement.requiredRole ?? ""}`;
}

function decisionFrom(
  principal: Principal,
  answer: { granted: boolean; role: string; denialReason: string },
  source: "local" | "verify_token",
): AuthDecision {
  if (answer.granted) return { outcome: "allowed", status: 200, principal, role: answer.role, source };
  const reason = answer.denialReason === "" ? "forbidden" : answer.denialReason;
  return {
    outcome: "denied",
    status: 403,
    reason,
    message: forbiddenMessage(reason),
    principal,
    role: answer.role,
  };
}

function toVerified(payload: JWTPayload): Verified {
  const claim = (name: string) => (typeof payload[name] === "string" ? (payload[name] as string) : "");
  const principal = {
    kind: claim("gh_kind") === "service_account" ? ("service_account" as const) : ("user" as const),
    subjectId: payload.sub ?? "",
    sessionId: claim("sid"),
    tokenId: payload.jti ?? "",
    clientId: claim("azp") || claim("client_id"),
    expiresAt: (payload.exp ?? 0) * 1000,
    claims: payload,
  };
  return {
    principal,
    facts: {
      subjectId: principal.subjectId,
      sessionId: principal.sessionId,
      tokenId: principal.tokenId,
      issuedAt: payload.iat ?? 0,
    },
    expiresAt: principal.expiresAt,
  };
}

function principalFromResponse(
  response: Awaited<ReturnType<GatehouseClient["auth"]["verifyToken"]>>,
): Omit<Principal, "username"> {
  return {
    kind: response.principalKind === "service_account" ? "service_account" : "user",
    subjectId: response.user?.id ?? "",
    sessionId: response.session?.id ?? "",
    tokenId: "",
    clientId: response.session?.clients[0] ?? "",
    expiresAt:
      response.tokenExpireTime === undefined
        ? 0
        : Number(response.tokenExpireTime.seconds) * 1000 + Math.floor(response.tokenExpireTime.nanos / 1e6),
    claims: {},
  };
}

/** A local verification failure: the same reason Gatehouse would give, or "ask Gatehouse". */
function localFailure(error: unknown): AuthDecision | typeof ASK_GATEHOUSE {
  const fail = (reason: string, message: string): AuthDecision => ({
    outcome: "unauthenticated",
    status: 401,
    reason,
    message,
  });
  if (error instanceof joseErrors.JWTExpired) return fail("token_expired", "the access token has expired");
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "iss")
      return fail("wrong_issuer", "the access token was not issued by this Gatehouse");
    if (error.claim === "aud")
      return fail("wrong_audience", "the access token is not meant for this audience");
    if (error.claim === "nbf") return fail("token_not_yet_valid", "the access token is not valid yet");
    return fail("malformed_token", "the access token is malformed");
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return fail("invalid_signature", "the access token's signature is invalid");
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported)
    return fail("unsupported_algorithm", "the access token's algorithm is not accepted");
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return fail("malformed_token", "the access token is malformed");
  // An unknown key (a new one, another issuer's), or the key set cannot be fetched: Gatehouse decides.
  return ASK_GATEHOUSE;
}
