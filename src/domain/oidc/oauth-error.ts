/**
 * An OAuth 2.0 / OIDC protocol error (RFC 6749 §4.1.2.1 and §5.2, OIDC Core
 * §3.1.2.6): `error` is the registered code, `description` is safe to show to
 * the client (never a secret, never whether an account exists). The HTTP
 * adapters decide how it travels: a redirect, a JSON body, or an error page.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly description: string;

  constructor(error: OAuthErrorCode, description: string, options: { cause?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OAuthError";
    this.error = error;
    this.description = description;
  }
}

export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "unsupported_response_type"
  | "invalid_scope"
  | "invalid_target"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  | "login_required"
  | "consent_required"
  | "interaction_required"
  | "invalid_token"
  | "insufficient_scope";

export const isOAuthError = (error: unknown): error is OAuthError => error instanceof OAuthError;
