import { hashOpaqueToken } from "../../domain/opaque-token.ts";
import type { ClientInfo } from "../../domain/ports/identity-provider.ts";
import type { SessionClients } from "../../domain/ports/logout-tokens.ts";
import type { LiveSession, OidcSessions } from "../../domain/ports/oidc-sessions.ts";
import type { SessionStore, TokenGrant } from "../../domain/ports/session-store.ts";
import type { UserRepository } from "../../domain/users/user-repository.ts";
import type { LocalIdentityProvider } from "./local-identity-provider.ts";

/**
 * The OpenID Provider's view of the built-in provider's sessions. `live` reads
 * the database each time (no cache): a session ended through any door, on any
 * replica, signs nobody in from the next request on.
 */
export class LocalOidcSessions implements OidcSessions {
  private readonly provider: LocalIdentityProvider;
  private readonly sessions: SessionStore;
  private readonly users: UserRepository;
  private readonly participants: Pick<SessionClients, "record"> | undefined;
  private readonly now: () => number;

  constructor(deps: {
    provider: LocalIdentityProvider;
    sessions: SessionStore;
    users: UserRepository;
    /** Where the clients that got tokens in a session are noted, for back-channel logout. */
    participants?: Pick<SessionClients, "record">;
    now?: () => number;
  }) {
    this.participants = deps.participants;
    this.provider = deps.provider;
    this.sessions = deps.sessions;
    this.users = deps.users;
    this.now = deps.now ?? Date.now;
  }

  async live(sessionId: string): Promise<LiveSession | undefined> {
    const session = await this.sessions.get(sessionId);
    if (session === undefined || session.revokedAt !== undefined || session.offline) return undefined;
    if (session.expiresAt.getTime() <= this.now()) return undefined;
    const user = await this.users.getUser(session.userId);
    if (user === undefined || user.status === "disabled") return undefined;
    return {
      id: session.id,
      userId: session.userId,
      authTime: session.createdAt,
      amr: [...session.authMethods],
    };
  }

  async issueForClient(
    sessionId: string,
    grant: TokenGrant,
    options: { withRefreshToken: boolean; offline?: boolean },
  ) {
    const issued = await this.provider.issueForClient(sessionId, grant, options);
    // Also without a refresh token: the client is told when the session ends (back-channel logout).
    if (issued !== undefined) await this.participants?.record(sessionId, grant.clientId);
    return issued;
  }

  async grantOf(refreshToken: string): Promise<TokenGrant | undefined> {
    return (await this.sessions.findRefreshToken(hashOpaqueToken(refreshToken)))?.grant;
  }

  refresh(refreshToken: string, client: ClientInfo) {
    return this.provider.refresh(refreshToken, client);
  }

  end(sessionId: string, reason: string) {
    return this.provider.endSession({ sessionId }, reason);
  }
}
