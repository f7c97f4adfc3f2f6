import type { Interceptor } from "@connectrpc/connect";
import {
  CLIENT_CREDENTIALS,
  callLimits,
  clientSecretLimits,
  type RateLimitSettings,
} from "../../domain/rate-limit/call-limits.ts";
import type { RateLimiter } from "../../domain/rate-limit/rate-limiter.ts";
import { kPeer } from "../context.ts";

export type { RateLimitSettings };

/**
 * The calls that guess secrets, with the account each one is about: these
 * get a stricter limit per client IP and per account on top of the general one.
 */
const SENSITIVE: Readonly<Record<string, (message: Record<string, unknown>) => string | undefined>> = {
  "gatehouse.v1.AuthService/Login": (message) => String(message.login ?? "").toLowerCase(),
  "gatehouse.v1.AuthService/ForgotPassword": (message) => String(message.email ?? "").toLowerCase(),
  "gatehouse.v1.AuthService/VerifyMfa": (message) => String(message.mfaToken ?? ""),
  // A passkey is no guess, but its sign-in opens sessions like Login: the same budgets. A
  // passwordless start names no account (one key for all would throttle everyone): per IP only.
  "gatehouse.v1.AuthService/BeginPasskeySignIn": (message) => String(message.mfaToken ?? "") || undefined,
  "gatehouse.v1.AuthService/FinishPasskeySignIn": (message) => String(message.ceremonyId ?? ""),
  // Not a guess, but each one costs a password hash, a row and maybe a mail: one address must
  // not mint accounts (or mail strangers) by the hundred.
  "gatehouse.v1.AuthService/SignUp": (message) => String(message.email ?? "").toLowerCase(),
};

/** Probes (health, reflection) are not rate limited: orchestrators call them on a schedule. */
const EXEMPT_PREFIXES = ["grpc.health.", "grpc.reflection."];

/**
 * Nor are the decision's front doors: Envoy's Check and VerifyToken sit in front of every
 * request in the mesh, so a per-IP budget would throttle a whole workload behind one sidecar,
 * and a counter in Redis would put a network round trip on the hot path. They answer from
 * memory; a flood of bad tokens costs a signature check each and is bounded by the
 * verification cache (see the deny-path benchmark).
 */
const EXEMPT_METHODS = new Set([
  "envoy.service.auth.v3.Authorization/Check",
  "gatehouse.v1.AuthService/VerifyToken",
]);

/**
 * Rate limits every RPC per client IP, and Login / ForgotPassword / VerifyMfa /
 * SignUp / the passkey sign-in also per IP and per account, through the coordination store (one budget
 * across replicas). Over the limit: RESOURCE_EXHAUSTED with RetryInfo. Runs
 * after validation, so malformed requests are rejected without counting.
 */
export function rateLimitInterceptor(limiter: RateLimiter, settings: RateLimitSettings): Interceptor {
  return (next) => async (request) => {
    const typeName = request.service.typeName;
    const method = `${typeName}/${request.method.name}`;
    if (
      !settings.enabled ||
      EXEMPT_METHODS.has(method) ||
      EXEMPT_PREFIXES.some((prefix) => typeName.startsWith(prefix))
    ) {
      return next(request);
    }
    if (method === CLIENT_CREDENTIALS && !request.stream) {
      // A service account's secret, guessed per client id; the token endpoint's client_credentials
      // grant spends the same budget (src/server/oidc/oidc-http.ts).
      const clientId = String((request.message as unknown as { clientId?: string }).clientId ?? "");
      await limiter.consume(
        clientSecretLimits(settings, { method, ip: request.contextValues.get(kPeer).ip, clientId }),
      );
      return next(request);
    }
    const account = request.stream ? undefined : SENSITIVE[method];
    const limits = callLimits(settings, {
      method,
      ip: request.contextValues.get(kPeer).ip,
      account: account?.(request.message as unknown as Record<string, unknown>),
    });
    await limiter.consume(limits);
    return next(request);
  };
}
