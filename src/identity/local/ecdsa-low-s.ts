/**
 * ECDSA signatures (r, s) and (r, n − s) both verify, so every ES256 token has
 * a twin: the same claims and key under a different string. We sign with the
 * low s only (WebCrypto picks either, about half the time the high one) and
 * refuse the high one, so each token has one encoding.
 */

/** The order of P-256. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;
/** ES256's JWS signature: r and s, 32 bytes each. */
const SIGNATURE_BYTES = 64;

const toBigInt = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).toString("hex")}`);

/** n/2 as 32 big-endian bytes, to compare s with byte by byte. */
const P256_HALF_N_BYTES = Buffer.from(P256_HALF_N.toString(16).padStart(64, "0"), "hex");

/** Whether an ES256 signature (r‖s, 64 bytes) has s ≤ n/2; false when it is not 64 bytes. */
export function isLowSSignature(signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  return Buffer.compare(signature.subarray(32), P256_HALF_N_BYTES) <= 0;
}

/** The compact ES256 JWS with its signature's s replaced by n − s when s is high. */
export function withLowS(compact: string): string {
  const dot = compact.lastIndexOf(".");
  const signature = Buffer.from(compact.slice(dot + 1), "base64url");
  if (signature.length !== SIGNATURE_BYTES) throw new Error("not an ES256 signature");
  const s = toBigInt(signature.subarray(32));
  if (s <= P256_HALF_N) return compact;
  signature.set(Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex"), 32);
  return `${compact.slice(0, dot + 1)}${signature.toString("base64url")}`;
}
