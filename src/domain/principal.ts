/** An authenticated caller, as established from a verified access token. */
export interface Principal {
  readonly kind: "user" | "service_account";
  /** User id or service account id (the token's `sub`). */
  readonly subjectId: string;
  /** The session (`sid`); empty for client-credentials tokens. */
  readonly sessionId: string;
  /** The token's `jti`. */
  readonly tokenId: string;
  /** When the token expires (epoch ms). */
  readonly expiresAt: number;
  /** The OAuth client the token was issued to. */
  readonly clientId: string;
}

/** Turns a bearer token into a principal; throws DomainError("unauthenticated") otherwise. */
export interface Authenticator {
  authenticate(bearerToken: string): Promise<Principal>;
}
