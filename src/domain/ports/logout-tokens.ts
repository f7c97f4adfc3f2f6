/** Signs OIDC Back-Channel Logout 1.0 logout tokens (`typ: logout+jwt`) with the issuer's keys. */
export interface LogoutTokenSigner {
  sign(claims: Record<string, unknown>, algorithm: "RS256" | "ES256"): Promise<string>;
}

/** POSTs a logout token to a relying party's back-channel logout URI (§2.5), within `timeoutMs`. */
export interface LogoutTokenSender {
  /** The HTTP status, or throws when no answer came (refused, reset, timed out). */
  send(uri: string, logoutToken: string, timeoutMs: number): Promise<number>;
}

/** Which relying parties took part in a session: those to tell when it ends. */
export interface SessionClients {
  /** The session's user and the client ids it issued tokens to; undefined for an unknown session. */
  clientsOf(
    sessionId: string,
  ): Promise<{ readonly userId: string; readonly clientIds: readonly string[] } | undefined>;
  /** Notes that `clientId` got tokens in the session (the token endpoint calls it; idempotent). */
  record(sessionId: string, clientId: string): Promise<void>;
}
