import { randomUUID } from "node:crypto";
import { type JWTPayload, SignJWT } from "jose";
import { DomainError } from "../../domain/errors.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../../domain/tokens/access-token.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import { type JsonObject, readCompactJws, verifiedPayload } from "./es256-compact-jws.ts";
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

const fail = (reason: string, message: string): DomainError =>
  new DomainError("unauthenticated", reason, message);

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

  /**
   * ES256 through node:crypto (es256-compact-jws.ts), then the claims as jose's jwtVerify checks
   * them with our options (typ, iss, aud, required claims, nbf and exp with the clock skew), and
   * our own claims. Every refusal is an unauthenticated DomainError with the reasons the
   * AccessTokenVerifier contract names.
   */
  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    const jws = readCompactJws(token);
    const { header } = jws;
    if (header.typ !== ACCESS_TOKEN_TYPE) throw fail("malformed_token", "the token is not an access token");
    if (typeof header.kid !== "string" || header.kid === "") {
      throw fail("unknown_key", "the access token names no signing key");
    }
    const held = this.keys.verificationKeyObject(header.kid);
    const key = held instanceof Promise ? await held : held;
    if (key === undefined) throw fail("unknown_key", "the access token was signed with an unknown key");
    const payload = verifiedPayload(jws, key);
    this.checkRegisteredClaims(payload);
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
      subjectId: payload.sub as string,
      sessionId: kind === "user" ? (sessionId as string) : "",
      tokenId: payload.jti as string,
      clientId,
      issuedAt: payload.iat as number,
      expiresAt: payload.exp as number,
      ...(typeof payload.scope === "string" ? { scope: payload.scope } : {}),
    };
  }

  /** iss, aud, sub, jti, iat, nbf and exp: present, of their types, and in force (with the skew). */
  private checkRegisteredClaims(payload: JsonObject): void {
    for (const claim of REQUIRED_CLAIMS) {
      if (!Object.hasOwn(payload, claim))
        throw fail("malformed_token", "the access token's claims are not valid");
    }
    if (payload.iss !== this.settings.issuer) {
      throw fail("wrong_issuer", "the access token was issued by someone else");
    }
    const aud = payload.aud;
    const audience = this.settings.audience;
    if (aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) {
      throw fail("wrong_audience", "the access token is meant for another audience");
    }
    if (typeof payload.sub !== "string" || typeof payload.jti !== "string") {
      throw fail("malformed_token", "the access token's claims are not valid");
    }
    const { iat, nbf, exp } = payload;
    if (!isNumericDate(iat) || !isNumericDate(nbf) || !isNumericDate(exp)) {
      throw fail("malformed_token", "the access token's claims are not valid");
    }
    const now = Math.floor(this.now() / 1000);
    const skew = this.settings.clockSkewSeconds;
    if (nbf > now + skew) throw fail("token_not_yet_valid", "the access token is not valid yet");
    if (exp <= now - skew) throw fail("token_expired", "the access token has expired");
  }
}

/** jose's requiredClaims with our issuer and audience options (which make iss and aud required too). */
const REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "iat", "exp", "nbf"] as const;

const isNumericDate = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value);
