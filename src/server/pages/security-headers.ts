import type { HttpResponse } from "../http-handler.ts";

export interface PagePolicy {
  /**
   * Where forms on the page may submit, besides our origin. CSP's form-action also governs the
   * redirects that follow a submission: a sign-in form whose POST answers with a redirect to a
   * client's redirect_uri must list that URI's origin here.
   */
  readonly extraFormActions?: readonly string[];
  /** Origins images may come from besides our own (the configured logo's). */
  readonly imageOrigins?: readonly string[];
  /**
   * The page loads our own script (the passkey forms'): `script-src 'self'`, never inline, and
   * Trusted Types with no policy, so not even that script can turn a string into markup.
   */
  readonly scripts?: boolean;
}

/** Only origins (scheme://host[:port]) reach the policy: nothing a caller passes can add a directive. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

function sources(values: readonly string[] | undefined): string {
  return (values ?? [])
    .map((value) => {
      try {
        return new URL(value).origin;
      } catch {
        return "";
      }
    })
    .filter((origin) => ORIGIN.test(origin))
    .map((origin) => ` ${origin}`)
    .join("");
}

/**
 * The strict policy of every hosted page: nothing loads but our own stylesheet
 * (and the logo), no script but our own passkey script on the pages that need it,
 * no framing, forms post only to us, and no <base> can redirect relative URLs.
 */
export function contentSecurityPolicy(policy: PagePolicy = {}): string {
  return [
    "default-src 'none'",
    ...(policy.scripts === true
      ? ["script-src 'self'", "require-trusted-types-for 'script'", "trusted-types 'none'"]
      : []),
    "style-src 'self'",
    `img-src 'self'${sources(policy.imageOrigins)}`,
    `form-action 'self'${sources(policy.extraFormActions)}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/**
 * Headers of every page: the CSP, clickjacking (X-Frame-Options for browsers that predate
 * frame-ancestors), no MIME sniffing, no Referer (reset and verification tokens ride in the
 * query string), and no caching: the pages hold CSRF tokens and personal data.
 */
export function setPageHeaders(response: HttpResponse, policy: PagePolicy = {}): void {
  response.setHeader("content-type", "text/html; charset=utf-8");
  response.setHeader("content-security-policy", contentSecurityPolicy(policy));
  response.setHeader("x-frame-options", "DENY");
  response.setHeader("x-content-type-options", "nosniff");
  response.setHeader("referrer-policy", "no-referrer");
  response.setHeader("cache-control", "no-store");
  response.setHeader("cross-origin-opener-policy", "same-origin");
  response.setHeader("cross-origin-resource-policy", "same-origin");
  response.setHeader("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
}
