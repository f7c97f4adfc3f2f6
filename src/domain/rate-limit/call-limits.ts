import { createHash } from "node:crypto";
import type { RateLimit } from "./rate-limiter.ts";

export interface RateLimitSettings {
  readonly enabled: boolean;
  readonly perIpPerMinute: number;
  readonly sensitivePerMinute: number;
}

const MINUTE_MS = 60_000;

/** The RPC the token endpoint's client_credentials grant is another door to: one budget for both. */
export const CLIENT_CREDENTIALS = "gatehouse.v1.AuthService/ClientCredentialsToken";

// Keys never hold an email address or token in the clear.
const digest = (value: string) => createHash("sha256").update(value).digest("base64url").slice(0, 22);

/**
 * The budgets one call spends: the general one per client IP and, for a call
 * that guesses secrets or costs mail (`account` given: the login, email or
 * MFA token it is about), the stricter ones per IP and per account. The RPC
 * interceptor and the hosted pages' forms both use this with the RPC's name,
 * so a form and its RPC share one budget (a form is not a way around it).
 */
export function callLimits(
  settings: RateLimitSettings,
  call: { readonly method: string; readonly ip: string; readonly account?: string | undefined },
): RateLimit[] {
  const ip = call.ip || "unknown";
  const limits: RateLimit[] = [{ key: `ip:${ip}`, limit: settings.perIpPerMinute, windowMs: MINUTE_MS }];
  if (call.account !== undefined) {
    limits.push({ key: `${call.method}:ip:${ip}`, limit: settings.sensitivePerMinute, windowMs: MINUTE_MS });
    limits.push({
      key: `${call.method}:account:${digest(call.account)}`,
      limit: settings.sensitivePerMinute,
      windowMs: MINUTE_MS,
    });
  }
  return limits;
}

/**
 * The budgets of a call that proves a client's secret (ClientCredentialsToken, the OAuth
 * endpoints' client authentication): the general one per IP, and a strict one per client id.
 * Not a strict one per IP: many workloads behind one node's address fetch tokens legitimately.
 */
export function clientSecretLimits(
  settings: RateLimitSettings,
  call: { readonly method: string; readonly ip: string; readonly clientId: string },
): RateLimit[] {
  return [
    { key: `ip:${call.ip || "unknown"}`, limit: settings.perIpPerMinute, windowMs: MINUTE_MS },
    {
      key: `${call.method}:client:${digest(call.clientId)}`,
      limit: settings.sensitivePerMinute,
      windowMs: MINUTE_MS,
    },
  ];
}
