import { createHash } from "node:crypto";

/**
 * OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token,
 * base64url (both RS256 and ES256 hash with SHA-256).
 */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}

export interface IdTokenInput {
  readonly issuer: string;
  readonly clientId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly authTime: Date;
  readonly amr: readonly string[];
  readonly nonce: string | undefined;
  readonly accessToken: string;
  readonly ttlSeconds: number;
  readonly now: number;
  /** Claims by scope, when the ID token carries them (none by default: UserInfo serves them). */
  readonly extra?: Record<string, unknown>;
}

/** The ID token's claims (OIDC Core §2, §3.1.3.6; Front/Back-Channel Logout's `sid`). */
export function idTokenClaims(input: IdTokenInput): Record<string, unknown> {
  const iat = Math.floor(input.now / 1000);
  return {
    ...input.extra,
    iss: input.issuer,
    sub: input.userId,
    aud: input.clientId,
    azp: input.clientId,
    iat,
    exp: iat + input.ttlSeconds,
    auth_time: Math.floor(input.authTime.getTime() / 1000),
    ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    at_hash: accessTokenHash(input.accessToken),
    amr: [...input.amr],
    sid: input.sessionId,
  };
}
