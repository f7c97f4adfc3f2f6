import { isUtf8 } from "node:buffer";
import { type KeyObject, verify } from "node:crypto";
import { DomainError } from "../../domain/errors.ts";
import { isCanonicalCompactJws } from "../../domain/tokens/compact-jws.ts";
import { isLowSSignature } from "./ecdsa-low-s.ts";

/**
 * A compact JWS signed with ES256, verified with node:crypto's synchronous
 * verify and a KeyObject: on a cold Check this was a fifth of the server's CPU
 * through WebCrypto (jose's jwtVerify, which needs a promise and a CryptoKey
 * per call). What jose checks before it trusts a payload is checked here too,
 * stricter where it matters to us: three canonical base64url segments, a
 * protected header that is a JSON object in valid UTF-8, `alg` pinned to ES256
 * before a key is looked up, no `crit` (we recognise no extension), a 64-byte
 * IEEE P1363 signature (no DER), its low-s form only, and a payload that is a
 * JSON object in valid UTF-8, decoded only after the signature verified.
 */

/** JWS `alg` for ECDSA P-256 with SHA-256. */
export const ES256 = "ES256";
const SIGNATURE_BYTES = 64;

export type JsonObject = Record<string, unknown>;

const fail = (reason: string, message: string): DomainError =>
  new DomainError("unauthenticated", reason, message);

/** The protected header of a canonical compact JWS, before its signature is checked. */
export interface UnverifiedJws {
  readonly token: string;
  readonly header: JsonObject;
  /** Where the signing input (header.payload) ends. */
  readonly signedEnd: number;
}

/** A base64url segment's bytes as a JSON object, or undefined (bad UTF-8, not JSON, not an object). */
function jsonObject(token: string, start: number, end: number): JsonObject | undefined {
  const bytes = Buffer.from(token.slice(start, end), "base64url");
  if (!isUtf8(bytes)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** Splits and reads the header; the token's algorithm, type and key are the caller's to check. */
export function readCompactJws(token: string): UnverifiedJws {
  if (!isCanonicalCompactJws(token)) throw fail("malformed_token", "the access token is malformed");
  const first = token.indexOf(".");
  const header = jsonObject(token, 0, first);
  if (header === undefined) throw fail("malformed_token", "the access token is malformed");
  // RFC 7515 §4.1.11: an extension the recipient does not understand must make it reject the JWS.
  if (header.crit !== undefined) throw fail("malformed_token", "the access token is malformed");
  if (header.alg !== ES256)
    throw fail("unsupported_algorithm", "the access token's algorithm is not accepted");
  return { token, header, signedEnd: token.lastIndexOf(".") };
}

/**
 * ECDSA-Sig-Value (RFC 3279 §2.2.3: a DER SEQUENCE of the INTEGERs r and s) of a 64-byte
 * IEEE P1363 signature r‖s: the minimal encoding of each (leading zero bytes dropped, one put
 * back when the high bit is set, so that it stays positive). Built from the fixed-size form only,
 * so a caller's own DER never reaches the verifier and there is one encoding per signature.
 */
export function derSignature(p1363: Uint8Array): Buffer {
  const rStart = firstSignificant(p1363, 0);
  const sStart = firstSignificant(p1363, 32);
  const rPad = p1363[rStart]! & 0x80 ? 1 : 0;
  const sPad = p1363[sStart]! & 0x80 ? 1 : 0;
  const rLength = 32 - rStart + rPad;
  const sLength = 64 - sStart + sPad;
  // From Node's pool (every byte is written below): Buffer.alloc would make an ArrayBuffer per call.
  const der = Buffer.allocUnsafe(6 + rLength + sLength);
  der[0] = 0x30;
  der[1] = 4 + rLength + sLength;
  der[2] = 0x02;
  der[3] = rLength;
  der[4] = 0;
  der.set(p1363.subarray(rStart, 32), 4 + rPad);
  der[4 + rLength] = 0x02;
  der[5 + rLength] = sLength;
  der[6 + rLength] = 0;
  der.set(p1363.subarray(sStart, 64), 6 + rLength + sPad);
  return der;
}

/** Where a 32-byte big-endian integer's significant bytes start (its last byte at the latest). */
function firstSignificant(bytes: Uint8Array, start: number): number {
  let at = start;
  while (at < start + 31 && bytes[at] === 0) at++;
  return at;
}

/** Verifies the ES256 signature with the key and returns the payload object. */
export function verifiedPayload(jws: UnverifiedJws, key: KeyObject): JsonObject {
  const { token, signedEnd } = jws;
  // Never another key type under ES256's name: "sha256" with an RSA key would be RS256.
  if (key.asymmetricKeyType !== "ec")
    throw fail("unsupported_algorithm", "the access token's algorithm is not accepted");
  const signature = Buffer.from(token.slice(signedEnd + 1), "base64url");
  // The KeyObject itself and a DER signature: with an options object ({ key, dsaEncoding }) Node
  // took ≈ 20 µs more per verify here (≈ 66 against ≈ 46 µs of CPU; BENCHMARKS.md, finding 14).
  const valid =
    signature.length === SIGNATURE_BYTES &&
    verify("sha256", Buffer.from(token.slice(0, signedEnd), "latin1"), key, derSignature(signature));
  if (!valid) throw fail("invalid_signature", "the access token's signature is not valid");
  // The high-s twin of a valid signature verifies too (checked after the signature, so that a
  // forgery still reads as one): only the low-s form we sign with is the token.
  if (!isLowSSignature(signature)) {
    throw fail("malformed_token", "the access token's signature is not in its canonical form");
  }
  const payload = jsonObject(token, token.indexOf(".") + 1, signedEnd);
  if (payload === undefined) throw fail("malformed_token", "the access token is malformed");
  return payload;
}
