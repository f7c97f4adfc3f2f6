import { hashOpaqueToken, newOpaqueToken } from "../../domain/opaque-token.ts";
import type { IssuedTokens, RefreshResult } from "../../domain/ports/identity-provider.ts";
import type { SessionRecord, SessionStore, TokenGrant } from "../../domain/ports/session-store.ts";
import type { Sealer } from "./sealer.ts";

export interface SessionLifetimes {
  /** Sliding lifetime of an online session's refresh token. */
  readonly refreshTokenTtlMs: number;
  /** Sliding lifetime of an offline session's refresh token. */
  readonly offlineTokenTtlMs: number;
  /** How long an online session may last in all, however often it is refreshed. Offline sessions slide. */
  readonly sessionMaxLifetimeMs: number;
}

export interface RefreshRotationSettings extends SessionLifetimes {
  /** A concurrent refresh with the same token within this window gets the same new pair. */
  readonly graceMs: number;
}

/**
 * Who presents the refresh token. A user refreshing is seen (their address
 * and user agent are recorded on the session) and may be answered from the
 * grace window. The token vault refreshing a token handed to it is neither:
 * the vault calls one at a time per entry, so it needs no grace pair, and
 * keeping none means the copy the caller handed over is spent at the first mint.
 */
export type Presenter =
  | { readonly kind: "user"; readonly ipAddress: string; readonly userAgent: string }
  | { readonly kind: "vault" };

export interface RefreshRotationDeps {
  readonly sessions: SessionStore;
  /** Seals the pair kept for the grace window, bound to the rotated token's row. */
  readonly graceSealer: Pick<Sealer, "seal" | "open">;
  /** The access token of a rotation. */
  /** The access token of a rotation; `grant` is the chain's (a relying party's), if any. */
  readonly issueAccessToken: (
    session: SessionRecord,
    grant: TokenGrant | undefined,
  ) => Promise<{ token: string; expiresAt: Date }>;
  readonly settings: RefreshRotationSettings;
  readonly now: () => number;
}

/** A refresh's outcome; `revoked`: the session has just been ended (reuse), its access tokens must be refused. */
export type RotationResult =
  | (RefreshResult & { readonly ok: true })
  | (RefreshResult & { readonly ok: false; readonly revoked?: SessionRecord });

interface SealedPair {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: number;
  readonly sessionId: string;
  readonly scope?: string;
}

/**
 * When a refresh token issued now for the session expires: its sliding
 * lifetime, but never past the online session's absolute lifetime.
 */
export function refreshTokenExpiry(
  lifetimes: SessionLifetimes,
  session: { readonly offline: boolean; readonly createdAt: Date },
  now: number,
): Date {
  if (session.offline) return new Date(now + lifetimes.offlineTokenTtlMs);
  return new Date(
    Math.min(now + lifetimes.refreshTokenTtlMs, session.createdAt.getTime() + lifetimes.sessionMaxLifetimeMs),
  );
}

/**
 * Refresh-token rotation of the built-in provider, in the manner of an OAuth
 * refresh_token grant with rotation and reuse detection: every refresh
 * exchanges the token for a new pair; the same token presented again within
 * the grace window (a client retrying, two tabs) gets that same pair; presented
 * after it, the token is taken as stolen and the whole session ends. The store
 * only finds under lock and writes; every rule is here.
 */
export class RefreshRotation {
  private readonly deps: RefreshRotationDeps;

  constructor(deps: RefreshRotationDeps) {
    this.deps = deps;
  }

  rotate(refreshToken: string, presenter: Presenter): Promise<RotationResult> {
    const { sessions, graceSealer, settings } = this.deps;
    const now = this.deps.now();
    return sessions.withLockedRefreshToken(
      hashOpaqueToken(refreshToken),
      async (token, writes): Promise<RotationResult> => {
        if (token === undefined) {
          return { ok: false, reason: "invalid_refresh_token", userId: undefined, sessionId: undefined };
        }
        const { session } = token;
        // An expired session includes one at its absolute lifetime: its expiry is capped there.
        if (session.revokedAt !== undefined || session.expiresAt.getTime() <= now || !token.userActive) {
          return failure("session_ended", session);
        }
        if (token.rotatedAt !== undefined) {
          const withinGrace = now - token.rotatedAt.getTime() <= settings.graceMs;
          if (withinGrace && token.successorSealed !== undefined && presenter.kind === "user") {
            const pair = JSON.parse(graceSealer.open(token.successorSealed, token.tokenId)) as SealedPair;
            return { ok: true, tokens: fromSealedPair(pair), userId: session.userId };
          }
          await writes.revokeSession(session.id, "refresh_token_reused", new Date(now));
          return { ...failure("refresh_token_reused", session), revoked: session };
        }
        if (token.expiresAt.getTime() <= now) return failure("refresh_token_expired", session);

        const successor = newOpaqueToken();
        const expiresAt = refreshTokenExpiry(settings, session, now);
        const access = await this.deps.issueAccessToken(session, token.grant);
        const tokens: IssuedTokens = {
          accessToken: access.token,
          accessTokenExpiresAt: access.expiresAt,
          refreshToken: successor,
          refreshTokenExpiresAt: expiresAt,
          sessionId: session.id,
          scope: token.grant?.scope ?? "",
        };
        await writes.rotate({
          sessionId: session.id,
          tokenId: token.tokenId,
          at: new Date(now),
          successor: {
            tokenHash: hashOpaqueToken(successor),
            expiresAt,
            ...(token.grant === undefined ? {} : { grant: token.grant }),
          },
          successorSealed:
            presenter.kind === "user"
              ? graceSealer.seal(JSON.stringify(toSealedPair(tokens)), token.tokenId)
              : undefined,
          // Pairs kept for grace windows that have passed are of no use any more.
          dropPairsRotatedBefore: new Date(now - settings.graceMs),
        });
        await writes.touch(session.id, {
          usedAt: new Date(now),
          expiresAt,
          seen:
            presenter.kind === "user"
              ? { ipAddress: presenter.ipAddress, userAgent: presenter.userAgent }
              : undefined,
        });
        return { ok: true, tokens, userId: session.userId };
      },
    );
  }
}

function failure(
  reason: "refresh_token_expired" | "session_ended" | "refresh_token_reused",
  session: SessionRecord,
): RefreshResult & { ok: false } {
  return { ok: false, reason, userId: session.userId, sessionId: session.id };
}

const toSealedPair = (tokens: IssuedTokens): SealedPair => ({
  accessToken: tokens.accessToken,
  accessTokenExpiresAt: tokens.accessTokenExpiresAt.getTime(),
  refreshToken: tokens.refreshToken,
  refreshTokenExpiresAt: tokens.refreshTokenExpiresAt?.getTime() ?? 0,
  sessionId: tokens.sessionId,
  scope: tokens.scope,
});

const fromSealedPair = (pair: SealedPair): IssuedTokens => ({
  accessToken: pair.accessToken,
  accessTokenExpiresAt: new Date(pair.accessTokenExpiresAt),
  refreshToken: pair.refreshToken,
  refreshTokenExpiresAt: new Date(pair.refreshTokenExpiresAt),
  sessionId: pair.sessionId,
  scope: pair.scope ?? "",
});
