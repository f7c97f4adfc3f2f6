import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import { DomainError } from "../../domain/errors.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../../domain/tokens/access-token.ts";
import { accessTokenError } from "../jose-errors.ts";
import { keycloakUnavailable } from "./keycloak-errors.ts";
import type { KeycloakOidc } from "./keycloak-oidc.ts";

/**
 * Keycloak's signing algorithms (its realm keys are RSA, EC or EdDSA). Pinned:
 * "none" and the HMAC family (a public key used as an HMAC secret) never
 * reach a verifier. Keycloak's refresh tokens are HS512 and so are refused here too.
 */
export const KEYCLOAK_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;

/** Maps Keycloak subjects to Gatehouse's. */
export interface SubjectResolver {
  /**
   * Gatehouse's user id for a Keycloak user id. A Keycloak user without a
   * local record yet is imported first (once). Throws unauthenticated when the
   * user cannot be found in Keycloak either.
   */
  userIdFor(keycloakUserId: string): Promise<string>;
  /**
   * Gatehouse's service account for a Keycloak client that got a token by
   * client credentials: the service_accounts row whose client_id is the
   * Keycloak client id. Undefined when Gatehouse has no such account.
   */
  serviceAccountIdFor(clientId: string): Promise<string | undefined>;
}

export interface KeycloakVerifierSettings {
  /** "local": signature against the realm JWKS; "introspection": ask Keycloak for every new token. */
  readonly mode: "local" | "introspection";
  /** The client id every accepted token must name in `aud` (or be issued to, `azp`). */
  readonly audience: string;
  readonly clockSkewSeconds: number;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

/** How long the keys fetched last are trusted without a refetch; after that a fetch failure falls back to them. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** At most one refetch per this interval when tokens name unknown keys (jose's cooldown). */
const JWKS_COOLDOWN_MS = 30_000;

const fail = (reason: string, message: string, cause?: unknown): DomainError =>
  new DomainError("unauthenticated", reason, message, { cause });

/**
 * Verifies Keycloak access tokens and maps them to Gatehouse principals.
 *
 * Local mode: signature against the realm's JWKS (cached by jose, refetched
 * on an unknown `kid` at most every 30 s; if Keycloak is unreachable when the
 * cache is due for a refresh, the keys fetched last keep verifying), pinned
 * algorithms, `iss`, `aud` or `azp`, `exp` / `nbf` / `iat` with the clock
 * skew, and `typ: Bearer` (ID and refresh tokens are refused). Introspection
 * mode asks Keycloak instead, so a token ended in Keycloak by any means is
 * refused at once (at a round trip per new token).
 *
 * Subjects: a token with a `sid` comes from a user's session: `sub` is the
 * Keycloak user id, mapped to the Gatehouse user (users.external_id). A token
 * without a session is a client-credentials token: its `azp` (the Keycloak
 * client) must be the client_id of a Gatehouse service account, whose id
 * becomes the subject.
 */
export class KeycloakTokenVerifier implements AccessTokenVerifier {
  private readonly oidc: KeycloakOidc;
  private readonly subjects: SubjectResolver;
  private readonly settings: KeycloakVerifierSettings;
  private readonly now: () => number;
  private remote: RemoteJWKSet | undefined;

  constructor(oidc: KeycloakOidc, subjects: SubjectResolver, settings: KeycloakVerifierSettings) {
    this.oidc = oidc;
    this.subjects = subjects;
    this.settings = settings;
    this.now = settings.now ?? Date.now;
  }

  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    const payload =
      this.settings.mode === "introspection" ? await this.introspect(token) : await this.verifyLocally(token);
    return this.toClaims(payload);
  }

  private async verifyLocally(token: string): Promise<JWTPayload> {
    let header: JWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw fail("malformed_token", "the access token is malformed", error);
    }
    if (!(KEYCLOAK_ALGORITHMS as readonly string[]).includes(header.alg ?? "")) {
      throw fail("unsupported_algorithm", "the access token's algorithm is not accepted");
    }
    // Another issuer's token (another realm, another server) is refused before its unknown
    // key sends us to refetch the JWKS; the signature check below confirms `iss` again.
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch (error) {
      throw fail("malformed_token", "the access token is malformed", error);
    }
    if (issuer !== this.oidc.issuer) {
      throw fail("wrong_issuer", "the access token was issued by someone else");
    }
    try {
      const { payload } = await jwtVerify(token, (h, t) => this.key(h, t), {
        algorithms: [...KEYCLOAK_ALGORITHMS],
        issuer: this.oidc.issuer,
        clockTolerance: this.settings.clockSkewSeconds,
        requiredClaims: ["sub", "iat", "exp"],
        currentDate: new Date(this.now()),
      });
      return payload;
    } catch (error) {
      throw accessTokenError(error);
    }
  }

  /** The realm's keys, cached, for other tokens Keycloak signs (back-channel logout tokens). */
  keys(): (header: JWSHeaderParameters, token: FlattenedJWSInput) => ReturnType<RemoteJWKSet> {
    return (header, token) => this.key(header, token);
  }

  /** The verification key for a token: jose's cached remote set, or the last keys fetched while Keycloak is away. */
  private async key(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (this.remote === undefined) {
      const remote = createRemoteJWKSet(await this.oidc.jwksUri(), {
        timeoutDuration: this.settings.timeoutMs,
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        // Only the fetches (not each cached key lookup) are Keycloak requests.
        [customFetch]: (url, options) => this.oidc.span("jwks", () => fetch(url, options)),
      });
      this.remote ??= remote;
    }
    const remote = this.remote;
    try {
      return await remote(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      const lastKnown = remote.jwks();
      if (lastKnown !== undefined) return createLocalJWKSet(lastKnown)(header, token);
      throw keycloakUnavailable(error);
    }
  }

  private async introspect(token: string): Promise<JWTPayload> {
    const answer = await this.oidc.introspect(token, "access_token");
    if (!answer.active) throw fail("token_inactive", "the access token is not active");
    if (answer.iss !== undefined && answer.iss !== this.oidc.issuer) {
      throw fail("wrong_issuer", "the access token was issued by someone else");
    }
    if (answer.token_type !== undefined && answer.token_type.toLowerCase() !== "bearer") {
      throw fail("malformed_token", "the token is not an access token");
    }
    const nowSeconds = Math.floor(this.now() / 1000);
    if (typeof answer.exp === "number" && answer.exp + this.settings.clockSkewSeconds <= nowSeconds) {
      throw fail("token_expired", "the access token has expired");
    }
    return {
      ...answer,
      azp: typeof answer.azp === "string" ? answer.azp : answer.client_id,
    } as JWTPayload;
  }

  private async toClaims(payload: JWTPayload): Promise<AccessTokenClaims> {
    const { audience } = this.settings;
    const audiences = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
    const azp = typeof payload.azp === "string" ? payload.azp : "";
    if (!audiences.includes(audience) && azp !== audience) {
      throw fail("wrong_audience", "the access token is meant for another audience");
    }
    // Keycloak marks its access tokens typ "Bearer" (ID tokens "ID", refresh tokens "Refresh").
    if (payload.typ !== undefined && payload.typ !== "Bearer") {
      throw fail("malformed_token", "the token is not an access token");
    }
    if (typeof payload.sub !== "string" || payload.sub === "" || typeof payload.exp !== "number") {
      throw fail("malformed_token", "the access token's claims are incomplete");
    }
    const sessionId = typeof payload.sid === "string" ? payload.sid : "";
    const base = {
      tokenId: typeof payload.jti === "string" ? payload.jti : "",
      clientId: azp,
      issuedAt: typeof payload.iat === "number" ? payload.iat : 0,
      expiresAt: payload.exp,
    };
    if (sessionId !== "") {
      return { kind: "user", subjectId: await this.subjects.userIdFor(payload.sub), sessionId, ...base };
    }
    // No session: a client-credentials token of the client `azp`.
    const serviceAccountId = azp === "" ? undefined : await this.subjects.serviceAccountIdFor(azp);
    if (serviceAccountId === undefined) {
      throw fail("unknown_service_account", "the token's client is not a Gatehouse service account");
    }
    return { kind: "service_account", subjectId: serviceAccountId, sessionId: "", ...base };
  }
}
