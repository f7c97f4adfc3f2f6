/** A WebAuthn ceremony between its options and the authenticator's answer. */
export interface PasskeyCeremony {
  readonly kind: "registration" | "sign_in";
  /** base64url, as sent in the options. */
  readonly challenge: string;
  readonly userVerification: "required" | "preferred";
  readonly expiresAt: number;
  /** Registration: the user registering; MFA sign-in: the user the MFA token is for. */
  readonly userId?: string;
  /** Registration: the name given at the start. */
  readonly name?: string;
  /**
   * MFA sign-in: the Login challenge this ceremony answers, by the hash of its token
   * (hashOpaqueToken), as the challenge itself is kept: the store never holds the token.
   */
  readonly mfaTokenHash?: string;
}

/**
 * Ceremonies in flight, shared by every replica (any one may finish a ceremony
 * another began). Each is single use: `take` hands it out once, also to
 * concurrent callers on different replicas, and never after it expired.
 */
export interface CeremonyStore {
  put(id: string, ceremony: PasskeyCeremony, ttlMs: number): Promise<void>;
  take(id: string): Promise<PasskeyCeremony | undefined>;
}
