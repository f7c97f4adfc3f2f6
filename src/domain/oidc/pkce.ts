import { createHash, timingSafeEqual } from "node:crypto";

/** RFC 7636 §4.1 and §4.2: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]. */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

export const isPkceValue = (value: string): boolean => PKCE_VALUE.test(value);

/** RFC 7636 §4.6 for S256, the only method served: BASE64URL(SHA256(verifier)) == challenge. */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!isPkceValue(verifier)) return false;
  const computed = Buffer.from(createHash("sha256").update(verifier, "ascii").digest("base64url"));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
