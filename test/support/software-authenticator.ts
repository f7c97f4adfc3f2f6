import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

/**
 * A WebAuthn authenticator in software for tests: ES256 keys from node:crypto,
 * attestation "none", resident (discoverable) credentials. It answers the
 * options JSON a Begin* RPC returns with the JSON a browser would send, and
 * every field a server checks can be bent (origin, RP id, flags, counter,
 * challenge) to test that the server refuses it.
 */

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();
const b64url = (data: Uint8Array) => Buffer.from(data).toString("base64url");

export interface StoredCredential {
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly rpId: string;
  /** The user handle from the registration options (base64url). */
  readonly userHandle: string;
  counter: number;
}

export interface CeremonyKnobs {
  readonly origin?: string;
  readonly rpId?: string;
  /** The challenge to sign instead of the one in the options. */
  readonly challenge?: string;
  readonly userVerified?: boolean;
  readonly userPresent?: boolean;
  readonly type?: string;
}

export interface AuthenticatorOptions {
  readonly origin: string;
  /** Backup eligible / backed up (a synced passkey): amr "swk" rather than "hwk". */
  readonly backupEligible?: boolean;
  readonly backedUp?: boolean;
  /** Whether the authenticator verifies the user (PIN, biometrics) when asked; default true. */
  readonly userVerification?: boolean;
  /** Counter step per assertion; 0 for authenticators that keep no counter. Default 1. */
  readonly counterStep?: number;
}

export class SoftwareAuthenticator {
  readonly credentials = new Map<string, StoredCredential>();
  private readonly options: AuthenticatorOptions;

  constructor(options: AuthenticatorOptions) {
    this.options = options;
  }

  private flags(knobs: CeremonyKnobs, options: { attested: boolean; uvRequested: boolean }): number {
    const verifies = knobs.userVerified ?? this.options.userVerification ?? true;
    let flags = knobs.userPresent === false ? 0 : FLAG_UP;
    if (verifies && (options.uvRequested || knobs.userVerified === true)) flags |= FLAG_UV;
    if (this.options.backupEligible === true) flags |= FLAG_BE;
    if (this.options.backedUp === true) flags |= FLAG_BS;
    if (options.attested) flags |= FLAG_AT;
    return flags;
  }

  private clientData(type: string, challenge: string, knobs: CeremonyKnobs): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: knobs.type ?? type,
        challenge: knobs.challenge ?? challenge,
        origin: knobs.origin ?? this.options.origin,
        crossOrigin: false,
      }),
    );
  }

  /** navigator.credentials.create(): the RegistrationResponseJSON for PublicKeyCredentialCreationOptionsJSON. */
  register(optionsJson: string, knobs: CeremonyKnobs = {}): { credentialJson: string; credentialId: string } {
    const options = JSON.parse(optionsJson) as {
      challenge: string;
      rp: { id: string };
      user: { id: string };
      authenticatorSelection?: { userVerification?: string };
      excludeCredentials?: { id: string }[];
    };
    const rpId = knobs.rpId ?? options.rp.id;
    for (const excluded of options.excludeCredentials ?? []) {
      if (this.credentials.has(excluded.id)) throw new Error("InvalidStateError: a credential is excluded");
    }
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(jwk.x!, "base64url"))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, "base64url"))],
    ]);
    const credentialIdBytes = randomBytes(32);
    const id = b64url(credentialIdBytes);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialIdBytes.length);
    const counter = Buffer.alloc(4);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([
        this.flags(knobs, {
          attested: true,
          uvRequested: options.authenticatorSelection?.userVerification !== "discouraged",
        }),
      ]),
      counter,
      Buffer.alloc(16),
      idLength,
      credentialIdBytes,
      Buffer.from(isoCBOR.encode(cose)),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ["fmt", "none"],
        ["attStmt", new Map<string, string>()],
        ["authData", new Uint8Array(authData)],
      ]),
    );
    const clientDataJSON = this.clientData("webauthn.create", options.challenge, knobs);
    this.credentials.set(id, { id, privateKey, publicKey, rpId, userHandle: options.user.id, counter: 0 });
    return {
      credentialId: id,
      credentialJson: JSON.stringify({
        id,
        rawId: id,
        type: "public-key",
        response: {
          clientDataJSON: b64url(clientDataJSON),
          attestationObject: b64url(attestationObject),
          transports: ["internal", "hybrid"],
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      }),
    };
  }

  /**
   * navigator.credentials.get(): the AuthenticationResponseJSON for
   * PublicKeyCredentialRequestOptionsJSON, with the first allowed (or, when
   * none are listed, the first discoverable) credential for the RP.
   */
  assert(
    optionsJson: string,
    knobs: CeremonyKnobs & { readonly credentialId?: string; readonly counter?: number } = {},
  ): string {
    const options = JSON.parse(optionsJson) as {
      challenge: string;
      rpId: string;
      userVerification?: string;
      allowCredentials?: { id: string }[];
    };
    const allowed = (options.allowCredentials ?? []).map((credential) => credential.id);
    const credential =
      knobs.credentialId === undefined
        ? [...this.credentials.values()].find(
            (candidate) =>
              candidate.rpId === options.rpId && (allowed.length === 0 || allowed.includes(candidate.id)),
          )
        : this.credentials.get(knobs.credentialId);
    if (credential === undefined) throw new Error("NotAllowedError: no credential for this RP");
    credential.counter = knobs.counter ?? credential.counter + (this.options.counterStep ?? 1);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(credential.counter);
    const authData = Buffer.concat([
      sha256(knobs.rpId ?? options.rpId),
      Buffer.from([
        this.flags(knobs, { attested: false, uvRequested: options.userVerification !== "discouraged" }),
      ]),
      counter,
    ]);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, knobs);
    const signature = sign(
      "sha256",
      Buffer.concat([authData, sha256(clientDataJSON)]),
      credential.privateKey,
    );
    return JSON.stringify({
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    });
  }

  /** A second authenticator holding copies of these keys and counters (a cloned authenticator). */
  clone(): SoftwareAuthenticator {
    const copy = new SoftwareAuthenticator(this.options);
    for (const [id, credential] of this.credentials) copy.credentials.set(id, { ...credential });
    return copy;
  }
}
