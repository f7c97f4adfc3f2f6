import { randomBytes } from "node:crypto";
import { DomainError, isDomainError } from "../errors.ts";
import { hashOpaqueToken, newOpaqueToken } from "../opaque-token.ts";
import type { CeremonyStore, PasskeyCeremony } from "../ports/ceremony-store.ts";
import type { PasskeyStore } from "../ports/passkey-store.ts";
import type { WebAuthn } from "../ports/webauthn.ts";
import { parseCredentialJson } from "./credential-json.ts";
import type { Passkey } from "./passkey.ts";
import { ceremonyNotFound, type PasskeySettings, requirePasskeysAvailable } from "./passkey-settings.ts";

/** A ceremony handed to the browser: the options for navigator.credentials and the id to finish it with. */
export interface CeremonyStart {
  readonly ceremonyId: string;
  /** PublicKeyCredential{Creation,Request}OptionsJSON. */
  readonly optionsJson: string;
  readonly expiresAt: Date;
}

/** A verified sign-in assertion: whose passkey, and for which ceremony (passwordless or an MFA answer). */
export interface PasskeyAssertion {
  readonly passkey: Passkey;
  readonly userVerified: boolean;
  /** The MFA challenge answered, by its token's hash; undefined for a passwordless sign-in. */
  readonly mfaTokenHash: string | undefined;
}

/**
 * A sign-in failure the audit log should name the user of, when the
 * credential was known (AuthService counts and records it).
 */
export class PasskeySignInFailure extends DomainError {
  readonly userId: string | undefined;
  readonly passkeyId: string | undefined;

  constructor(
    reason: string,
    message: string,
    known: { userId?: string; passkeyId?: string },
    cause?: unknown,
  ) {
    super("unauthenticated", reason, message, cause === undefined ? {} : { cause });
    this.userId = known.userId;
    this.passkeyId = known.passkeyId;
  }
}

/** A fresh WebAuthn challenge: 32 random bytes, base64url. */
export const newChallenge = (): string => randomBytes(32).toString("base64url");

/**
 * The sign-in ceremonies: passwordless (discoverable credentials, user
 * verification required) and the passkey as the MFA step (the user's own
 * credentials allowed, user verification preferred). Opens no session: the
 * AuthService does, after the account checks.
 */
export class PasskeyAssertions {
  private readonly deps: {
    readonly settings: PasskeySettings;
    readonly passkeys: PasskeyStore;
    readonly ceremonies: CeremonyStore;
    readonly webauthn: WebAuthn;
    readonly now?: () => number;
  };
  private readonly now: () => number;

  constructor(deps: PasskeyAssertions["deps"]) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  get available(): boolean {
    return this.deps.settings.availability === "enabled";
  }

  requireAvailable(): void {
    requirePasskeysAvailable(this.deps.settings);
  }

  /** Whether the user can answer an MFA challenge with a passkey. */
  async hasPasskeys(userId: string): Promise<boolean> {
    return this.available && (await this.deps.passkeys.countByUser(userId)) > 0;
  }

  /** Passwordless when `mfa` is undefined; else for the user the Login challenge `mfa.token` is for. */
  async begin(mfa: { readonly token: string; readonly userId: string } | undefined): Promise<CeremonyStart> {
    this.requireAvailable();
    const { settings, passkeys, ceremonies, webauthn } = this.deps;
    const allow =
      mfa === undefined
        ? []
        : (await passkeys.listByUser(mfa.userId)).map((passkey) => ({
            id: passkey.credentialId,
            transports: passkey.transports,
          }));
    if (mfa !== undefined && allow.length === 0) {
      throw new DomainError("failed_precondition", "no_passkeys", "this account has no passkey");
    }
    const challenge = newChallenge();
    const userVerification = mfa === undefined ? "required" : "preferred";
    const options = await webauthn.authenticationOptions({
      rp: settings.rp,
      challenge,
      allow,
      userVerification,
      timeoutMs: settings.ceremonyTtlMs,
    });
    const ceremonyId = newOpaqueToken();
    const expiresAt = this.now() + settings.ceremonyTtlMs;
    const ceremony: PasskeyCeremony = {
      kind: "sign_in",
      challenge,
      userVerification,
      expiresAt,
      ...(mfa === undefined ? {} : { userId: mfa.userId, mfaTokenHash: hashOpaqueToken(mfa.token) }),
    };
    await ceremonies.put(ceremonyId, ceremony, settings.ceremonyTtlMs);
    return { ceremonyId, optionsJson: JSON.stringify(options), expiresAt: new Date(expiresAt) };
  }

  /**
   * Verifies the answer to a sign-in ceremony, which this uses up whatever
   * the outcome. A signature counter that did not go up (stored > 0) means a
   * cloned authenticator: refused with counter_regressed, the passkey left as
   * it was.
   */
  async finish(ceremonyId: string, credentialJson: string): Promise<PasskeyAssertion> {
    this.requireAvailable();
    const { settings, passkeys, ceremonies, webauthn } = this.deps;
    const response = parseCredentialJson(credentialJson);
    const ceremony = await ceremonies.take(ceremonyId);
    if (ceremony === undefined || ceremony.kind !== "sign_in") throw ceremonyNotFound();
    // An MFA ceremony names both its user and its challenge, a passwordless one neither; one with
    // a user and no challenge (begun by a replica that kept the raw token) must not pass as passwordless.
    if ((ceremony.userId === undefined) !== (ceremony.mfaTokenHash === undefined)) throw ceremonyNotFound();
    const passkey = await passkeys.findByCredentialId(response.id);
    const known = { userId: ceremony.userId };
    if (
      passkey === undefined ||
      (ceremony.userId !== undefined && passkey.userId !== ceremony.userId) ||
      (response.userHandle !== undefined &&
        Buffer.from(response.userHandle, "base64url").toString("utf8") !== passkey.userId)
    ) {
      throw new PasskeySignInFailure("unknown_credential", "this passkey is not registered here", known);
    }
    const owner = { userId: passkey.userId, passkeyId: passkey.id };
    let verified: Awaited<ReturnType<WebAuthn["verifyAuthentication"]>>;
    try {
      verified = await webauthn.verifyAuthentication({
        rp: settings.rp,
        response,
        challenge: ceremony.challenge,
        credential: {
          id: passkey.credentialId,
          publicKey: passkey.publicKey,
          transports: passkey.transports,
        },
        requireUserVerification: ceremony.userVerification === "required",
      });
    } catch (error) {
      if (isDomainError(error) && error.reason === "passkey_verification_failed") {
        throw new PasskeySignInFailure(
          "passkey_verification_failed",
          "the passkey's answer could not be verified",
          owner,
          error.cause,
        );
      }
      throw error;
    }
    const regressed = passkey.signCount > 0 && verified.signCount <= passkey.signCount;
    if (
      regressed ||
      !(await passkeys.recordUse(passkey.id, {
        expectedSignCount: passkey.signCount,
        signCount: verified.signCount,
        backedUp: verified.backedUp,
      }))
    ) {
      throw new PasskeySignInFailure(
        "counter_regressed",
        "this passkey's signature counter went backwards (a cloned authenticator?); it was refused",
        owner,
      );
    }
    return { passkey, userVerified: verified.userVerified, mfaTokenHash: ceremony.mfaTokenHash };
  }
}
