import { decodeJwt } from "jose";
import { DomainError } from "../../domain/errors.ts";
import type { IdentityRef } from "../../domain/ports/identity-provider.ts";
import type {
  MintOutcome,
  OfflineOutcome,
  TokenInspection,
  VaultTokenProvider,
} from "../../domain/vault/vault-token-provider.ts";
import { type KeycloakOidc, type KeycloakTokens, OAuthRejection } from "./keycloak-oidc.ts";
import { refreshFailure } from "./keycloak-provider.ts";
import type { SpentRefreshTokens } from "./spent-refresh-tokens.ts";

type Oidc = Pick<KeycloakOidc, "passwordGrant" | "refreshGrant" | "introspect" | "revoke">;

const misconfigured = (cause: unknown) =>
  new DomainError("internal", "keycloak_client_misconfigured", "Keycloak refused Gatehouse's client", {
    cause,
  });

/**
 * The token vault on Keycloak, with Gatehouse's confidential client: tokens
 * are checked by introspection (Keycloak introspects refresh and offline
 * tokens with token_type_hint=refresh_token, without using them up), minted
 * with the refresh grant (Keycloak rotates: the new token is always stored),
 * offline tokens come from the password grant with scope offline_access, and
 * revoking an offline token at /revoke ends its offline session.
 */
export class KeycloakVaultTokens implements VaultTokenProvider {
  readonly ownClientId: string;
  private readonly oidc: Oidc;
  private readonly spent: Pick<SpentRefreshTokens, "record"> | undefined;

  constructor(oidc: Oidc, ownClientId: string, spent?: Pick<SpentRefreshTokens, "record">) {
    this.oidc = oidc;
    this.ownClientId = ownClientId;
    this.spent = spent;
  }

  subjectOf(user: { readonly externalId: string }): string {
    return user.externalId;
  }

  async inspect(token: string): Promise<TokenInspection> {
    const answer = await this.oidc.introspect(token, "refresh_token").catch((error: unknown) => {
      throw error instanceof OAuthRejection ? misconfigured(error) : error;
    });
    // An access token introspects active too: only refresh ("Refresh") and offline ("Offline") tokens qualify.
    const type = answer.typ;
    if (answer.active !== true || (type !== "Refresh" && type !== "Offline")) {
      return { active: false, reason: "inactive" };
    }
    const clientId = typeof answer.azp === "string" ? answer.azp : (answer.client_id ?? "");
    // Keycloak refreshes a token only for the client it was issued to.
    if (clientId !== this.ownClientId) return { active: false, reason: "foreign_client" };
    return {
      active: true,
      subject: answer.sub ?? "",
      clientId,
      sessionId: typeof answer.sid === "string" ? answer.sid : "",
      offline: type === "Offline",
      expiresAt: typeof answer.exp === "number" ? new Date(answer.exp * 1000) : undefined,
    };
  }

  async mint(token: string, request: { scopes: readonly string[] }): Promise<MintOutcome> {
    let tokens: KeycloakTokens;
    try {
      tokens = await this.oidc.refreshGrant(
        token,
        request.scopes.length === 0 ? undefined : request.scopes.join(" "),
      );
    } catch (error) {
      if (!(error instanceof OAuthRejection)) throw error;
      if (error.error === "invalid_grant") return { ok: false, reason: refreshFailure(error.description) };
      if (error.error === "invalid_scope") {
        throw new DomainError("invalid_argument", "invalid_scope", "Keycloak does not grant these scopes", {
          violations: [{ field: "scopes", description: "not granted to the stored token" }],
          cause: error,
        });
      }
      throw misconfigured(error);
    }
    // The stored copy is spent: presenting it to Refresh later is reuse.
    await this.spent?.record(token).catch(() => {});
    const claims = decodeJwt(tokens.accessToken);
    return {
      ok: true,
      tokens: {
        accessToken: tokens.accessToken,
        accessTokenExpiresAt: new Date(tokens.accessTokenExpiresAt),
        refreshToken: tokens.refreshToken,
        refreshTokenExpiresAt:
          tokens.refreshTokenExpiresAt === undefined ? undefined : new Date(tokens.refreshTokenExpiresAt),
        sessionId: tokens.sessionId || (typeof claims.sid === "string" ? claims.sid : ""),
        // Keycloak sent it over the back channel to our authenticated client: its sub is Keycloak's.
        subject: claims.sub ?? "",
      },
    };
  }

  async requestOffline(
    account: IdentityRef,
    credentials: { password: string; totpCode: string | undefined },
  ): Promise<OfflineOutcome> {
    let tokens: KeycloakTokens;
    try {
      tokens = await this.oidc.passwordGrant(
        account.username,
        credentials.password,
        credentials.totpCode,
        "openid offline_access",
      );
    } catch (error) {
      if (!(error instanceof OAuthRejection)) throw error;
      // Keycloak answers a wrong password, a missing or wrong code and a disabled account alike.
      if (error.error === "invalid_grant") return { ok: false, reason: "invalid_credentials" };
      if (error.error === "invalid_scope") {
        throw new DomainError(
          "failed_precondition",
          "offline_access_not_allowed",
          "Keycloak does not allow the offline_access scope for Gatehouse's client",
          { cause: error },
        );
      }
      throw misconfigured(error);
    }
    if (decodeJwt(tokens.accessToken).sub !== account.externalId) {
      // The login named another Keycloak account than this user's: do not keep its token.
      await this.revoke(tokens.refreshToken);
      return { ok: false, reason: "invalid_credentials" };
    }
    return {
      ok: true,
      refreshToken: tokens.refreshToken,
      sessionId: tokens.sessionId,
      expiresAt:
        tokens.refreshTokenExpiresAt === undefined ? undefined : new Date(tokens.refreshTokenExpiresAt),
    };
  }

  async revoke(token: string): Promise<void> {
    try {
      await this.oidc.revoke(token, "refresh_token");
    } catch (error) {
      // RFC 7009: an invalid token is not an error; Keycloak may still say so.
      if (
        error instanceof OAuthRejection &&
        (error.error === "invalid_token" || error.error === "invalid_grant")
      )
        return;
      throw error instanceof OAuthRejection ? misconfigured(error) : error;
    }
  }
}
