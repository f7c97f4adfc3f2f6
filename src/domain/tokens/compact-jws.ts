/**
 * Canonical encodings of a compact JWS, so that one token is one string: one
 * cache entry, one identity. base64url decoders (jose's among them) also take
 * `=` padding and ignore the unused low bits of the last character, so
 * without these checks `<token>==` or a token with its last character nudged
 * verifies as a different string with the same claims and signature.
 */

/** The 6-bit value of a base64url character, or -1 for any other character. */
function base64UrlValue(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  if (code === 45) return 62; // -
  if (code === 95) return 63; // _
  return -1;
}

/** Whether token[start, end) is base64url without padding whose unused trailing bits are zero. */
function isCanonicalSegment(token: string, start: number, end: number): boolean {
  const length = end - start;
  // Empty is the canonical encoding of nothing (an unsecured JWS's signature): the verifier refuses those.
  if (length % 4 === 1) return false;
  let last = 0;
  for (let i = start; i < end; i++) {
    last = base64UrlValue(token.charCodeAt(i));
    if (last < 0) return false;
  }
  // 2 trailing characters carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
  if (length % 4 === 2) return (last & 0x0f) === 0;
  if (length % 4 === 3) return (last & 0x03) === 0;
  return true;
}

/** Three canonical base64url segments (header.payload.signature). Allocates nothing. */
export function isCanonicalCompactJws(token: string): boolean {
  const first = token.indexOf(".");
  if (first < 0) return false;
  const second = token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) return false;
  return (
    isCanonicalSegment(token, 0, first) &&
    isCanonicalSegment(token, first + 1, second) &&
    isCanonicalSegment(token, second + 1, token.length)
  );
}
