import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Parses KEY_ENCRYPTION_KEY: 64 hex characters or base64 of 32 bytes. Undefined when malformed. */
export function parseKeyEncryptionKey(material: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(material)
    ? Buffer.from(material, "hex")
    : Buffer.from(material, "base64");
  return key.length === 32 ? key : undefined;
}

/**
 * Seals secrets at rest with AES-256-GCM under a key derived (HKDF-SHA256)
 * from the key-encryption key for one purpose, so a ciphertext of one kind can
 * never be opened as another. The associated data binds each ciphertext to
 * its row (e.g. a key id), so sealed values cannot be swapped between rows.
 */
export class Sealer {
  private readonly key: Buffer;
  private readonly macKey: Buffer;

  constructor(rootKey: Buffer, purpose: string) {
    this.key = Buffer.from(hkdfSync("sha256", rootKey, Buffer.alloc(0), `gatehouse:${purpose}:seal`, 32));
    this.macKey = Buffer.from(hkdfSync("sha256", rootKey, Buffer.alloc(0), `gatehouse:${purpose}:mac`, 32));
  }

  /** `v1.<base64url(iv ‖ tag ‖ ciphertext)>`. */
  seal(plaintext: string, associatedData: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url")}`;
  }

  /** Throws when the value was tampered with, sealed for another row, or under another key. */
  open(sealed: string, associatedData: string): string {
    const [version, body] = sealed.split(".");
    if (version !== VERSION || body === undefined) throw new Error("unknown sealed-value format");
    const bytes = Buffer.from(body, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      "utf8",
    );
  }

  /** HMAC-SHA256 (hex) under this purpose's key: a keyed hash for low-entropy secrets such as recovery codes. */
  mac(value: string): string {
    return createHmac("sha256", this.macKey).update(value).digest("hex");
  }
}
