import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * A 256-bit random bearer secret (refresh tokens, reset links, MFA challenges,
 * client secrets), base64url: 43 characters.
 */
export function newOpaqueToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * How such a token is stored and looked up: SHA-256, hex. A fast hash is right
 * here, unlike for passwords: 256 random bits cannot be guessed, so there is
 * nothing for a slow hash to protect.
 */
export function hashOpaqueToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Compares two hex digests without leaking where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
