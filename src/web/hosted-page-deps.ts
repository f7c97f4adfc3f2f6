import { randomUUID } from "node:crypto";
import type { AuthService, RequestInfo } from "../domain/auth/auth-service.ts";
import { callLimits, type RateLimitSettings } from "../domain/rate-limit/call-limits.ts";
import type { RateLimiter } from "../domain/rate-limit/rate-limiter.ts";
import type { PasswordPolicy } from "../domain/users/password-policy.ts";
import type { Logger } from "../observability/logger.ts";
import { clientAddress } from "../server/client-address.ts";
import type { PageRequest } from "../server/pages/page-route.ts";
import type { PageShell } from "../server/pages/page-shell.ts";

/** What the hosted account pages need: the shell, the domain, and the RPCs' rate limits. */
export interface HostedPageDeps {
  readonly shell: PageShell;
  readonly logger: Logger;
  readonly auth: AuthService;
  readonly passwordPolicy: PasswordPolicy;
  readonly limiter: RateLimiter;
  readonly rateLimit: RateLimitSettings;
  readonly trustedProxyHops: number;
  readonly signupEnabled: boolean;
}

/** The caller as the domain records it (sessions, throttles, audit), taken as the RPCs take it. */
export function requestInfo(deps: HostedPageDeps, page: PageRequest): RequestInfo {
  const { request } = page;
  return {
    ip: clientAddress(
      request.socket?.remoteAddress,
      request.headers["x-forwarded-for"],
      deps.trustedProxyHops,
    ),
    userAgent: String(request.headers["user-agent"] ?? ""),
    requestId: page.requestId || randomUUID(),
  };
}

/**
 * Spends the form's share of the budgets of the RPC it stands for (the same
 * buckets: `method` is the RPC's full name), throwing resource_exhausted
 * like the RPC when one is spent.
 */
export async function spendRateLimit(
  deps: HostedPageDeps,
  page: PageRequest,
  method: string,
  account?: string,
): Promise<void> {
  if (!deps.rateLimit.enabled) return;
  await deps.limiter.consume(
    callLimits(deps.rateLimit, { method, ip: requestInfo(deps, page).ip, account: account?.toLowerCase() }),
  );
}
