import { randomUUID } from "node:crypto";
import type { ChangeEvent } from "../change-feed/change-feed.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { LogoutTokenSender, LogoutTokenSigner, SessionClients } from "../ports/logout-tokens.ts";
import type { OidcClientDirectory } from "./oidc-client.ts";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

export interface BackchannelLogoutSettings {
  /** How long one POST may take. */
  readonly timeoutMs: number;
  /** Tries per client, the first included. */
  readonly attempts: number;
  /** The wait before the first retry; doubled for each further one. */
  readonly retryDelayMs: number;
  /** A logout token's lifetime (§2.4: short, it is meant for now). */
  readonly tokenLifetimeSeconds: number;
}

export const DEFAULT_BACKCHANNEL_LOGOUT_SETTINGS: BackchannelLogoutSettings = {
  timeoutMs: 5000,
  attempts: 3,
  retryDelayMs: 1000,
  tokenLifetimeSeconds: 120,
};

/** A status worth trying again: the receiver is overloaded or failing, not refusing the token. */
const retriable = (status: number) => status === 429 || status >= 500;

/**
 * OIDC Back-Channel Logout 1.0, the OpenID Provider's side: when a session
 * ends — through any door, since every door ends it on the revocation feed —
 * each client that took part in it and registered a back-channel logout URI
 * gets a logout token (§2.4: iss, aud, iat, exp, jti, sid, sub, the event; no
 * nonce). Every replica hears the event; the first to claim it in the
 * coordination store sends, so a client is told at most once. Sending runs
 * apart from the logout, bounded in time, with a few retries.
 */
export class BackchannelLogoutDispatcher {
  private readonly deps: {
    readonly sessions: SessionClients;
    readonly clients: Pick<OidcClientDirectory, "find">;
    readonly signer: LogoutTokenSigner;
    readonly sender: LogoutTokenSender;
    readonly store: Pick<CoordinationStore, "setIfAbsent">;
    readonly issuer: string;
    readonly warn: (message: string, details: Record<string, unknown>) => void;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly now?: () => number;
  };
  private readonly settings: BackchannelLogoutSettings;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(deps: BackchannelLogoutDispatcher["deps"], settings = DEFAULT_BACKCHANNEL_LOGOUT_SETTINGS) {
    this.deps = deps;
    this.settings = settings;
  }

  /** A change-feed listener: never throws, never waits. */
  onChange(event: ChangeEvent): void {
    if (event.kind !== "session_revoked" || this.closed) return;
    const work = this.dispatch(event.key, event.expiresAt).catch((error: unknown) =>
      this.deps.warn("back-channel logout failed", { sessionId: event.key, error: errorMessage(error) }),
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Sends nothing new; waits for what is on its way (each send is bounded). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.inFlight);
  }

  private async dispatch(sessionId: string, eventExpiresAt: number): Promise<void> {
    const now = this.now();
    // Held as long as the event may be heard again (a poll overlapping pub/sub).
    const claimed = await this.deps.store.setIfAbsent(
      `oidc:backchannel-logout:${sessionId}`,
      "1",
      Math.max(60_000, eventExpiresAt - now),
    );
    if (!claimed) return;
    const participants = await this.deps.sessions.clientsOf(sessionId);
    if (participants === undefined) return;
    await Promise.all(
      [...new Set(participants.clientIds)].map((clientId) =>
        this.tell(clientId, sessionId, participants.userId),
      ),
    );
  }

  private async tell(clientId: string, sessionId: string, userId: string): Promise<void> {
    const client = await this.deps.clients.find(clientId);
    if (client === undefined || client.backchannelLogoutUri === "") return;
    const { attempts, retryDelayMs, timeoutMs } = this.settings;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let outcome: number | string;
      try {
        // A fresh jti per attempt: a receiver that saw an earlier one may refuse its replay.
        const token = await this.logoutToken(client.clientId, sessionId, userId, client.idTokenSigningAlg);
        outcome = await this.deps.sender.send(client.backchannelLogoutUri, token, timeoutMs);
        if (outcome >= 200 && outcome < 300) return;
        if (!retriable(outcome)) break;
      } catch (error) {
        outcome = errorMessage(error);
      }
      if (attempt === attempts || this.closed) {
        this.deps.warn("back-channel logout not delivered", {
          clientId,
          sessionId,
          outcome,
          attempts: attempt,
        });
        return;
      }
      await this.sleep(retryDelayMs * 2 ** (attempt - 1));
    }
    this.deps.warn("back-channel logout refused by the client", { clientId, sessionId });
  }

  private logoutToken(
    clientId: string,
    sessionId: string,
    userId: string,
    alg: "RS256" | "ES256",
  ): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return this.deps.signer.sign(
      {
        iss: this.deps.issuer,
        aud: clientId,
        iat,
        exp: iat + this.settings.tokenLifetimeSeconds,
        jti: randomUUID(),
        sid: sessionId,
        sub: userId,
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      },
      alg,
    );
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return this.deps.sleep?.(ms) ?? new Promise((resolve) => setTimeout(resolve, ms).unref());
  }
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
