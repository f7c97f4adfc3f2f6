import { NetworkError } from "@keycloak/keycloak-admin-client";
import { ClientError, ResponseBodyError } from "openid-client";
import { DomainError } from "../../domain/errors.ts";

/** OpenSSL's verdicts on a server certificate Node's TLS did not accept. */
const CERTIFICATE_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The certificate code in a failure's cause chain, if Keycloak's TLS certificate was refused. */
function certificateProblem(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const code = (current as { code?: unknown } | null)?.code;
    if (typeof code === "string" && CERTIFICATE_CODES.has(code)) return code;
    current = (current as { cause?: unknown } | null)?.cause;
  }
  return undefined;
}

/**
 * Keycloak did not answer, or answered with a server error: nothing can be
 * decided. A refused TLS certificate (Keycloak's CA not in KEYCLOAK_CA_FILE,
 * a name mismatch, an expired certificate) gets a reason of its own, so the
 * log says what to fix rather than "unavailable".
 */
export function keycloakUnavailable(cause: unknown): DomainError {
  const certificate = certificateProblem(cause);
  if (certificate !== undefined)
    return new DomainError(
      "unavailable",
      "identity_provider_certificate_untrusted",
      "the identity provider (Keycloak) is unavailable: its TLS certificate is not trusted",
      { cause, metadata: { certificate_error: certificate } },
    );
  return new DomainError(
    "unavailable",
    "identity_provider_unavailable",
    "the identity provider (Keycloak) is unavailable; try again later",
    { cause },
  );
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
]);

/** HTTP status of a failed response, when the error carries one. */
export function responseStatus(error: unknown): number | undefined {
  if (error instanceof NetworkError) return error.response.status;
  if (error instanceof ResponseBodyError) return error.status;
  if (error instanceof ClientError && error.cause instanceof Response) return error.cause.status;
  return undefined;
}

/**
 * Whether a failure means "Keycloak is not there" (connection refused, reset,
 * timed out, DNS) or "Keycloak is broken" (5xx, a proxy's HTML error page),
 * as opposed to Keycloak answering a request it rejects.
 */
export function isUnreachable(error: unknown): boolean {
  if (certificateProblem(error) !== undefined) return true;
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error && (current.name === "TimeoutError" || current.name === "AbortError"))
      return true;
    const code = (current as { code?: unknown } | null)?.code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (current instanceof TypeError && current.message === "fetch failed") return true;
    current = (current as { cause?: unknown } | null)?.cause;
  }
  const status = responseStatus(error);
  if (status !== undefined && status >= 500) return true;
  // openid-client: a response that is not an OAuth answer at all (a gateway's error page).
  return (
    error instanceof ClientError &&
    (error.code === "OAUTH_RESPONSE_IS_NOT_CONFORM" || error.code === "OAUTH_RESPONSE_IS_NOT_JSON")
  );
}

function adminErrorMessage(error: unknown): string {
  if (!(error instanceof NetworkError)) return "";
  const data = error.responseData as { errorMessage?: unknown; error?: unknown } | undefined;
  const message = data?.errorMessage ?? data?.error;
  return typeof message === "string" ? message : "";
}

/** Keycloak's user-profile errors name the attribute: {"field":"username","errorMessage":"error-user-attribute-read-only"}. */
function adminErrorField(error: unknown): string {
  if (!(error instanceof NetworkError)) return "";
  const field = (error.responseData as { field?: unknown } | undefined)?.field;
  return typeof field === "string" ? (KEYCLOAK_FIELDS[field] ?? field) : "";
}

const KEYCLOAK_FIELDS: Record<string, string> = {
  username: "username",
  email: "email",
  firstName: "profile.first_name",
  lastName: "profile.last_name",
};

/**
 * An admin-API failure as a DomainError. `what` names the operation for the
 * message ("create the user"). Keycloak's own messages for a clash say which
 * field clashed ("User exists with same email"); that is turned into a field
 * violation. Authorization failures of our service account are a deployment
 * fault, not the caller's: internal.
 */
export function fromAdminError(error: unknown, what: string): DomainError {
  if (error instanceof DomainError) return error;
  if (isUnreachable(error)) return keycloakUnavailable(error);
  const status = responseStatus(error);
  const message = adminErrorMessage(error);
  switch (status) {
    case 409: {
      const field = /email/i.test(message) ? "email" : /username/i.test(message) ? "username" : "";
      return new DomainError(
        "already_exists",
        field === "" ? "user_exists" : `${field}_taken`,
        field === "" ? "a user with these details already exists" : `this ${field} is already taken`,
        { cause: error, violations: field === "" ? [] : [{ field, description: "already taken" }] },
      );
    }
    case 404:
      return new DomainError("not_found", "keycloak_user_not_found", "the user does not exist in Keycloak", {
        cause: error,
      });
    case 400: {
      const field = adminErrorField(error);
      if (message === "error-user-attribute-read-only") {
        return new DomainError(
          "failed_precondition",
          "field_read_only",
          `Keycloak does not allow changing ${field}`,
          {
            cause: error,
            violations: field === "" ? [] : [{ field, description: "read-only in Keycloak" }],
          },
        );
      }
      return new DomainError(
        "invalid_argument",
        "rejected_by_identity_provider",
        message === "" ? `Keycloak refused to ${what}` : `Keycloak refused to ${what}: ${message}`,
        { cause: error, violations: field === "" ? [] : [{ field, description: message }] },
      );
    }
    default:
      return new DomainError("internal", "identity_provider_error", `could not ${what} in Keycloak`, {
        cause: error,
      });
  }
}
