import { randomUUID } from "node:crypto";
import { decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { DomainError } from "../../domain/errors.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../../domain/tokens/access-token.ts";
import { accessTokenError } from "../jose-errors.ts";
import { isLowS, withLowS } from "./ecdsa-low-s.ts";
import { SIGNING_ALGORITHM, type SigningKeyRing } from "./signing-key-ring.ts";

/** RFC 9068's media type for JWT access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Tells service-account tokens from user tokens. */
export const KIND_CLAIM = "gh_kind";

export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
  readonly clockSkewSeconds: number;
  readonly now?: () => number;
}

export interface AccessTokenSubject {
  readonly kind: "user" | "service_account";
  readonly subjectId: string;
  /** Empty for service accounts. */
  readonly sessionId: string;
  readonly clientId: string;
  /** `aud`: the configured audience unless given (RFC 8707: a resource's audience beside Gatehouse's). */
  readonly audience?: readonly string[];
  /** The OAuth scope granted (tokens of the token endpoint); none for Login's. */
  readonly scope?: string;
}

const fail = (reason: string, message: string, cause?: unknown): DomainError =>
  new DomainError("unauthenticated", reason, message, { cause });

/**
 * Signs and verifies our access tokens: compact JWS, ES256 only, `typ:
 * at+jwt`, a `kid` from our key ring, and only ids in the claims (iss, sub,
 * aud, exp, iat, nbf, jti, sid, client_id/azp, gh_kind) — no personal data.
 */
export class AccessTokens implements AccessTokenVerifier {
  private readonly keys: SigningKeyRing;
  private readonly settings: AccessTokenSettings;
  private readonly now: () => number;

  constructor(keys: SigningKeyRing, settings: AccessTokenSettings) {
    this.keys = keys;
    this.settings = settings;
    this.now = settings.now ?? Date.now;
  }

  async issue(subject: AccessTokenSubject): Promise<{ token: string; expiresAt: Date; tokenId: string }> {
    const { kid, key } = await this.keys.signingKey();
    const issuedAt = Math.floor(this.now() / 1000);
    const expiresAt = issuedAt + this.settings.ttlSeconds;
    const tokenId = randomUUID();
    const claims: JWTPayload = {
      client_id: subject.clientId,
      azp: subject.clientId,
      [KIND_CLAIM]: subject.kind,
    };
    if (subject.sessionId !== "") claims.sid = subject.sessionId;
    if (subject.scope !== undefined && subject.scope !== "") claims.scope = subject.scope;
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(this.settings.issuer)
      .setSubject(subject.subjectId)
      .setAudience(
        subject.audience === undefined || subject.audience.length === 0
          ? this.settings.audience
          : subject.audience.length === 1
            ? subject.audience[0]!
            : [...subject.audience],
      )
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(tokenId)
      .sign(key)
      .then(withLowS);
    return { token, expiresAt: new Date(expiresAt * 1000), tokenId };
  }

  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw fail("malformed_token", "the access token is malformed", error);
    }
    // Pinned before any key is looked up: "none", HS256 (with our public key as the secret), RS256… never reach a verifier.
    if (header.alg !== SIGNING_ALGORITHM) {
      throw fail("unsupported_algorithm", "the access token's algorithm is not accepted");
    }
    if (header.typ !== ACCESS_TOKEN_TYPE) throw fail("malformed_token", "the token is not an access token");
    if (typeof header.kid !== "string" || header.kid === "") {
      throw fail("unknown_key", "the access token names no signing key");
    }
    const key = await this.keys.verificationKey(header.kid);
    if (key === undefined) throw fail("unknown_key", "the access token was signed with an unknown key");

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockSkewSeconds,
        requiredClaims: ["sub", "jti", "iat", "exp", "nbf"],
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw accessTokenError(error);
    }
    // The high-s twin of a valid signature verifies too (after the signature check, so that a
    // forgery still reads as one): only the low-s form we sign with is the token.
    if (!isLowS(token.slice(token.lastIndexOf(".") + 1))) {
      throw fail("malformed_token", "the access token's signature is not in its canonical form");
    }
    const kind = payload[KIND_CLAIM];
    const sessionId = payload.sid;
    const clientId = payload.client_id;
    if (
      (kind !== "user" && kind !== "service_account") ||
      typeof clientId !== "string" ||
      (kind === "user" && (typeof sessionId !== "string" || sessionId === ""))
    ) {
      throw fail("malformed_token", "the access token's claims are incomplete");
    }
    return {
      kind,
      subjectId: payload.sub!,
      sessionId: kind === "user" ? (sessionId as string) : "",
      tokenId: payload.jti!,
      clientId,
      issuedAt: payload.iat!,
      expiresAt: payload.exp!,
      ...(typeof payload.scope === "string" ? { scope: payload.scope } : {}),
    };
  }
}
