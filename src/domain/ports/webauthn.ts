/** What the relying party checks a ceremony's answer against. */
export interface RelyingParty {
  readonly id: string;
  readonly name: string;
  readonly origins: readonly string[];
}

export interface CredentialDescriptor {
  readonly id: string;
  readonly transports: readonly string[];
}

/** A registration the authenticator answered and the verifier accepted. */
export interface RegisteredCredential {
  /** The authenticator's credential id, base64url. */
  readonly credentialId: string;
  /** COSE public key. */
  readonly publicKey: Uint8Array;
  /** The signature counter last seen; 0 for authenticators that keep none. */
  readonly signCount: number;
  /** "internal", "hybrid", "usb", "nfc", "ble", as the authenticator reported them. */
  readonly transports: readonly string[];
  /** May the authenticator sync it (a multi-device passkey); fixed at creation. */
  readonly backupEligible: boolean;
  /** Is it synced now (as of the last ceremony). */
  readonly backedUp: boolean;
  /** The authenticator model; all zeros under attestation "none". */
  readonly aaguid: string;
  /** Whether the authenticator verified the user at registration. */
  readonly userVerified: boolean;
}

export interface VerifiedAssertion {
  readonly signCount: number;
  readonly userVerified: boolean;
  readonly backedUp: boolean;
}

/**
 * WebAuthn's ceremonies (options and verification), behind a library.
 * Verification failures throw DomainError invalid_argument
 * passkey_verification_failed; the diagnostic goes in `cause`, never to the caller.
 * Signature counters are not judged here: the domain compares them.
 */
export interface WebAuthn {
  registrationOptions(input: {
    readonly rp: RelyingParty;
    readonly challenge: string;
    readonly user: { readonly id: string; readonly name: string; readonly displayName: string };
    readonly exclude: readonly CredentialDescriptor[];
    readonly timeoutMs: number;
  }): Promise<Record<string, unknown>>;
  verifyRegistration(input: {
    readonly rp: RelyingParty;
    readonly response: Record<string, unknown>;
    readonly challenge: string;
    readonly requireUserVerification: boolean;
  }): Promise<RegisteredCredential>;
  authenticationOptions(input: {
    readonly rp: RelyingParty;
    readonly challenge: string;
    readonly allow: readonly CredentialDescriptor[];
    readonly userVerification: "required" | "preferred";
    readonly timeoutMs: number;
  }): Promise<Record<string, unknown>>;
  verifyAuthentication(input: {
    readonly rp: RelyingParty;
    readonly response: Record<string, unknown>;
    readonly challenge: string;
    readonly credential: {
      readonly id: string;
      readonly publicKey: Uint8Array;
      readonly transports: readonly string[];
    };
    readonly requireUserVerification: boolean;
  }): Promise<VerifiedAssertion>;
}
