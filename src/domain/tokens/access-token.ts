/**
 * What a verified access token says, whichever provider issued it. Only
 * cryptographic and time checks stand behind these claims; revocation and
 * account state are checked by the caller (the decision engine).
 */
export interface AccessTokenClaims {
  readonly kind: "user" | "service_account";
  /** `sub`: user id or service account id (Gatehouse ids, not provider ids). */
  readonly subjectId: string;
  /** `sid`; empty for client-credentials tokens. */
  readonly sessionId: string;
  /** `jti`. */
  readonly tokenId: string;
  /** `azp` / client id the token was issued to. */
  readonly clientId: string;
  /** Epoch seconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** The OAuth scope of a token from the OpenID Provider's token endpoint (UserInfo reads it). */
  readonly scope?: string;
}

/**
 * Verifies an access token's signature (pinned algorithms, known keys), `iss`,
 * `aud`, `exp` and `nbf` (with the configured clock skew). Throws
 * DomainError("unauthenticated", reason) with reasons such as
 * "token_expired", "token_not_yet_valid", "invalid_signature", "wrong_issuer",
 * "wrong_audience", "unsupported_algorithm", "unknown_key", "malformed_token".
 */
export interface AccessTokenVerifier {
  verifyAccessToken(token: string): Promise<AccessTokenClaims>;
}
