import { errors, jwtVerify } from "jose";
import { DomainError, isDomainError } from "../../domain/errors.ts";
import type { LogoutTokenClaims, LogoutTokenVerifier } from "../../domain/revocation/backchannel-logout.ts";
import type { KeycloakOidc } from "./keycloak-oidc.ts";
import { KEYCLOAK_ALGORITHMS, type KeycloakTokenVerifier } from "./keycloak-token-verifier.ts";

/** The `events` member a logout token must carry (OIDC Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

/** Keycloak sends the token while it ends the session; older ones are refused (and their jti forgotten). */
const MAX_AGE_SECONDS = 600;

const invalid = (message: string, cause?: unknown) =>
  new DomainError("invalid_argument", "invalid_logout_token", message, { cause });

export interface KeycloakLogoutTokenSettings {
  /** The realm clients whose back-channel logout URL is Gatehouse's: the token's `aud` must be one. */
  readonly audiences: readonly string[];
  readonly clockSkewSeconds: number;
  readonly now?: () => number;
}

/**
 * Keycloak's logout tokens: signed with the realm's keys (the same cached
 * JWKS as access tokens), `iss` the realm, `aud` one of the configured
 * clients, `iat` within ten minutes, `jti`, the back-channel logout event,
 * `sid` or `sub`, and no `nonce` (so an ID token cannot pass for one).
 */
export class KeycloakLogoutTokens implements LogoutTokenVerifier {
  readonly maxAgeMs = MAX_AGE_SECONDS * 1000;
  private readonly oidc: Pick<KeycloakOidc, "issuer">;
  private readonly keys: Pick<KeycloakTokenVerifier, "keys">;
  private readonly settings: KeycloakLogoutTokenSettings;

  constructor(
    oidc: Pick<KeycloakOidc, "issuer">,
    keys: Pick<KeycloakTokenVerifier, "keys">,
    settings: KeycloakLogoutTokenSettings,
  ) {
    this.oidc = oidc;
    this.keys = keys;
    this.settings = settings;
  }

  async verify(logoutToken: string): Promise<LogoutTokenClaims> {
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    try {
      ({ payload } = await jwtVerify(logoutToken, this.keys.keys(), {
        algorithms: [...KEYCLOAK_ALGORITHMS],
        issuer: this.oidc.issuer,
        audience: [...this.settings.audiences],
        clockTolerance: this.settings.clockSkewSeconds,
        maxTokenAge: MAX_AGE_SECONDS,
        requiredClaims: ["iat", "jti"],
        currentDate: new Date((this.settings.now ?? Date.now)()),
      }));
    } catch (error) {
      if (isDomainError(error)) throw error;
      if (error instanceof errors.JOSEError || error instanceof TypeError)
        throw invalid("the logout token is not valid", error);
      throw error;
    }
    const events = payload.events;
    if (
      typeof events !== "object" ||
      events === null ||
      typeof (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] !== "object"
    ) {
      throw invalid("the token carries no back-channel logout event");
    }
    if (payload.nonce !== undefined) throw invalid("a logout token has no nonce");
    const sid = typeof payload.sid === "string" && payload.sid !== "" ? payload.sid : undefined;
    const sub = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : undefined;
    if (sid === undefined && sub === undefined) throw invalid("the logout token names no session or user");
    if (typeof payload.jti !== "string" || payload.jti === "") throw invalid("the logout token has no jti");
    return {
      tokenId: payload.jti,
      sessionId: sid,
      subject: sub,
      issuedAt: new Date((payload.iat ?? 0) * 1000),
    };
  }
}
