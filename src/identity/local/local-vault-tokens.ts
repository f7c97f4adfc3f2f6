import { DomainError } from "../../domain/errors.ts";
import type { IdentityRef } from "../../domain/ports/identity-provider.ts";
import type {
  MintClient,
  MintOutcome,
  OfflineOutcome,
  TokenInspection,
  VaultTokenProvider,
} from "../../domain/vault/vault-token-provider.ts";
import type { LocalIdentityProvider } from "./local-identity-provider.ts";

type LocalSessions = Pick<
  LocalIdentityProvider,
  "checkPassword" | "refreshForVault" | "endSession" | "startOfflineSession" | "inspectRefreshToken"
>;

/**
 * The token vault on the built-in provider: its own rotating refresh tokens
 * and sessions. An offline token is the refresh token of an offline session
 * (OFFLINE_TOKEN_TTL_SECONDS). Access tokens carry no scopes here.
 */
export class LocalVaultTokens implements VaultTokenProvider {
  readonly ownClientId: string;
  private readonly provider: LocalSessions;

  constructor(provider: LocalSessions, ownClientId: string) {
    this.provider = provider;
    this.ownClientId = ownClientId;
  }

  subjectOf(user: { readonly id: string }): string {
    return user.id;
  }

  async inspect(token: string): Promise<TokenInspection> {
    const session = await this.provider.inspectRefreshToken(token);
    if (session === undefined) return { active: false, reason: "inactive" };
    return {
      active: true,
      subject: session.userId,
      clientId: session.clientId,
      sessionId: session.id,
      offline: session.offline,
      expiresAt: session.expiresAt,
    };
  }

  async mint(
    token: string,
    request: { scopes: readonly string[]; client: MintClient },
  ): Promise<MintOutcome> {
    if (request.scopes.length > 0) {
      throw new DomainError(
        "invalid_argument",
        "scopes_not_supported",
        "the built-in provider issues access tokens without scopes",
        { violations: [{ field: "scopes", description: "must be empty with the built-in provider" }] },
      );
    }
    // Not the user's refresh: no grace pair (the caller's copy is spent now) and the user is not "seen".
    const result = await this.provider.refreshForVault(token);
    if (!result.ok) return { ok: false, reason: result.reason };
    return {
      ok: true,
      tokens: {
        accessToken: result.tokens.accessToken,
        accessTokenExpiresAt: result.tokens.accessTokenExpiresAt,
        refreshToken: result.tokens.refreshToken,
        refreshTokenExpiresAt: result.tokens.refreshTokenExpiresAt,
        sessionId: result.tokens.sessionId,
        subject: result.userId,
      },
    };
  }

  async requestOffline(
    account: IdentityRef,
    credentials: { password: string; totpCode: string | undefined },
    client: MintClient,
  ): Promise<OfflineOutcome> {
    const check = await this.provider.checkPassword({
      account,
      login: account.username,
      password: credentials.password,
      totpCode: credentials.totpCode,
    });
    if (!check.ok) return { ok: false, reason: check.reason };
    if (check.mfa === "required") return { ok: false, reason: "totp_required" };
    const tokens = await this.provider.startOfflineSession(
      account,
      { ...client, clientId: this.ownClientId },
      check.mfa === "verified" ? ["pwd", "otp"] : ["pwd"],
    );
    return {
      ok: true,
      refreshToken: tokens.refreshToken,
      sessionId: tokens.sessionId,
      expiresAt: tokens.refreshTokenExpiresAt,
    };
  }

  async revoke(token: string): Promise<void> {
    await this.provider.endSession({ refreshToken: token }, "vault_revoked");
  }
}
