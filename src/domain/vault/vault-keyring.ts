import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** Format of a sealed value: 0x01 ‖ 96-bit nonce ‖ 128-bit GCM tag ‖ ciphertext. */
const FORMAT = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

/** A ciphertext and the id of the key that sealed it (stored beside it). */
export interface Sealed {
  readonly keyId: string;
  readonly ciphertext: Uint8Array;
}

/** Who a vault entry belongs to: bound into every ciphertext of it as associated data. */
export interface EntryIdentity {
  readonly userId: string;
  readonly clientId: string;
  readonly purpose: string;
}

/** What a sealed value holds: the stored refresh/offline token, or the last access token minted from it. */
export type SealedPart = "stored_token" | "access_token";

/**
 * The associated data of an entry's ciphertexts: a ciphertext copied to
 * another row (another user, client or purpose), or from one column to the
 * other, fails to open. JSON of an array is unambiguous whatever the fields hold.
 */
export function entryAssociatedData(identity: EntryIdentity, part: SealedPart): Buffer {
  return Buffer.from(
    JSON.stringify(["gatehouse.vault.v1", part, identity.userId, identity.clientId, identity.purpose]),
  );
}

/** A sealed value cannot be opened: its key is not in the ring, or it fails authentication. */
export class VaultSealError extends Error {
  readonly reason: "unknown_key" | "unreadable";
  readonly keyId: string;
  constructor(reason: "unknown_key" | "unreadable", keyId: string, options?: { cause?: unknown }) {
    super(
      reason === "unknown_key"
        ? `vault key "${keyId}" is not in VAULT_KEYS`
        : `a value sealed under vault key "${keyId}" fails to open`,
      options,
    );
    this.name = "VaultSealError";
    this.reason = reason;
    this.keyId = keyId;
  }
}

/**
 * The token vault's keyring (VAULT_KEYS / VAULT_ACTIVE_KEY): AES-256-GCM with
 * a fresh random 96-bit nonce per seal, the active key for sealing, any key of
 * the ring for opening. Node's crypto does the cryptography; this only frames it.
 */
export class VaultKeyring {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly activeId: string | undefined;

  constructor(keys: ReadonlyMap<string, Buffer>, activeKeyId: string | undefined) {
    for (const [id, key] of keys) {
      if (key.length !== 32) throw new Error(`vault key "${id}" must be 32 bytes`);
    }
    if (activeKeyId !== undefined && !keys.has(activeKeyId)) {
      throw new Error(`the active vault key "${activeKeyId}" is not in the ring`);
    }
    if (keys.size > 0 && activeKeyId === undefined) throw new Error("no active vault key");
    this.keys = keys;
    this.activeId = activeKeyId;
  }

  /** False when VAULT_KEYS is empty: the vault cannot seal or open anything. */
  get configured(): boolean {
    return this.activeId !== undefined;
  }

  get activeKeyId(): string {
    if (this.activeId === undefined) throw new Error("the vault has no keys");
    return this.activeId;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  seal(plaintext: string, associatedData: Buffer): Sealed {
    const keyId = this.activeKeyId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(keyId)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData);
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return {
      keyId,
      ciphertext: Buffer.concat([Buffer.of(FORMAT), nonce, cipher.getAuthTag(), ciphertext]),
    };
  }

  /** Throws VaultSealError when the key is unknown or the value was altered or sealed for other data. */
  open(sealed: Sealed, associatedData: Buffer): string {
    const key = this.keys.get(sealed.keyId);
    if (key === undefined) throw new VaultSealError("unknown_key", sealed.keyId);
    const bytes = Buffer.from(sealed.ciphertext);
    if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT) {
      throw new VaultSealError("unreadable", sealed.keyId);
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(1, 1 + NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(associatedData);
      decipher.setAuthTag(bytes.subarray(1 + NONCE_BYTES, HEADER_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch (error) {
      throw new VaultSealError("unreadable", sealed.keyId, { cause: error });
    }
  }

  /** Opens with whichever key sealed it and seals again with the active key (re-encryption). */
  reseal(sealed: Sealed, associatedData: Buffer): Sealed {
    return this.seal(this.open(sealed, associatedData), associatedData);
  }
}
