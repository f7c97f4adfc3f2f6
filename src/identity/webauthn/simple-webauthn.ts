import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { DomainError } from "../../domain/errors.ts";
import type {
  CredentialDescriptor,
  RegisteredCredential,
  VerifiedAssertion,
  WebAuthn,
} from "../../domain/ports/webauthn.ts";

const bytes = (base64url: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.from(base64url, "base64url"));

const transportsOf = (transports: readonly string[]) => [...transports] as AuthenticatorTransport[];

/** The credentials to exclude from registration or allow at sign-in, as the library takes them. */
const descriptorsOf = (credentials: readonly CredentialDescriptor[]) =>
  credentials.map((credential) => ({ id: credential.id, transports: transportsOf(credential.transports) }));

/** The library's message is a diagnostic (it may echo the challenge): it goes to `cause` only. */
const verificationFailed = (cause: unknown) =>
  new DomainError(
    "invalid_argument",
    "passkey_verification_failed",
    "the passkey's answer could not be verified",
    {
      violations: [{ field: "credential_json", description: "the authenticator's answer did not verify" }],
      cause,
    },
  );

/** Runs a verification; a throw or `verified: false` is passkey_verification_failed. */
async function verified<T extends { verified: boolean }>(
  work: () => Promise<T>,
): Promise<T & { verified: true }> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    throw verificationFailed(error);
  }
  if (!result.verified) throw verificationFailed(new Error("the response did not verify"));
  return result as T & { verified: true };
}

/**
 * WebAuthn through @simplewebauthn/server: attestation "none" (the server
 * trusts no authenticator model over another), resident keys preferred so
 * that a registered passkey also signs in without a username.
 */
export class SimpleWebAuthn implements WebAuthn {
  async registrationOptions(input: Parameters<WebAuthn["registrationOptions"]>[0]) {
    const options = await generateRegistrationOptions({
      rpName: input.rp.name,
      rpID: input.rp.id,
      userID: new Uint8Array(Buffer.from(input.user.id, "utf8")),
      userName: input.user.name,
      userDisplayName: input.user.displayName,
      challenge: bytes(input.challenge),
      timeout: input.timeoutMs,
      attestationType: "none",
      excludeCredentials: descriptorsOf(input.exclude),
      authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
    });
    return options as unknown as Record<string, unknown>;
  }

  async verifyRegistration(
    input: Parameters<WebAuthn["verifyRegistration"]>[0],
  ): Promise<RegisteredCredential> {
    const result = await verified(() =>
      verifyRegistrationResponse({
        response: input.response as unknown as RegistrationResponseJSON,
        expectedChallenge: input.challenge,
        expectedOrigin: [...input.rp.origins],
        expectedRPID: input.rp.id,
        requireUserVerification: input.requireUserVerification,
      }),
    );
    const info = result.registrationInfo;
    return {
      credentialId: info.credential.id,
      publicKey: info.credential.publicKey,
      signCount: info.credential.counter,
      transports: info.credential.transports ?? [],
      backupEligible: info.credentialDeviceType === "multiDevice",
      backedUp: info.credentialBackedUp,
      aaguid: info.aaguid,
      userVerified: info.userVerified,
    };
  }

  async authenticationOptions(input: Parameters<WebAuthn["authenticationOptions"]>[0]) {
    const options = await generateAuthenticationOptions({
      rpID: input.rp.id,
      challenge: bytes(input.challenge),
      timeout: input.timeoutMs,
      userVerification: input.userVerification,
      allowCredentials: descriptorsOf(input.allow),
    });
    return options as unknown as Record<string, unknown>;
  }

  async verifyAuthentication(
    input: Parameters<WebAuthn["verifyAuthentication"]>[0],
  ): Promise<VerifiedAssertion> {
    const result = await verified(() =>
      verifyAuthenticationResponse({
        response: input.response as unknown as AuthenticationResponseJSON,
        expectedChallenge: input.challenge,
        expectedOrigin: [...input.rp.origins],
        expectedRPID: input.rp.id,
        // Counter 0: the library would refuse a regression with a bare Error; the domain judges it
        // (PasskeyAssertions), so that it can answer counter_regressed and audit it.
        credential: {
          id: input.credential.id,
          publicKey: new Uint8Array(input.credential.publicKey),
          counter: 0,
          transports: transportsOf(input.credential.transports),
        },
        requireUserVerification: input.requireUserVerification,
      }),
    );
    return {
      signCount: result.authenticationInfo.newCounter,
      userVerified: result.authenticationInfo.userVerified,
      backedUp: result.authenticationInfo.credentialBackedUp,
    };
  }
}
