import { randomFillSync } from "node:crypto";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's x-request-id when it is well-formed (safe to log and echo), else a new one. */
export function requestIdFrom(incoming: string | null | undefined): string {
  return typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : newRequestId();
}

const HEX = Buffer.from("0123456789abcdef", "latin1");
/** Random bytes for this many ids at a time, as node:crypto's randomUUID batches them. */
const BATCH = 128;
const random = Buffer.allocUnsafeSlow(16 * BATCH);
let used = BATCH;
const text = Buffer.from("00000000-0000-4000-8000-000000000000", "latin1");
/** Where each random byte's two hex digits go in `text` (the dashes stay put). */
const DIGITS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * A random (version 4) UUID as one flat string. node:crypto's randomUUID joins
 * it from 20 pieces, a tree of strings that lives as long as the id does:
 * the id goes into every fast-path answer's headers, which node:http2 keeps
 * until the stream object is collected, and that tree was the largest part of
 * what our own code left in the old generation per call (BENCHMARKS.md, finding 18).
 */
export function newRequestId(): string {
  if (used === BATCH) {
    randomFillSync(random);
    used = 0;
  }
  const offset = 16 * used++;
  for (let i = 0; i < 16; i++) {
    let byte = random[offset + i]!;
    if (i === 6)
      byte = (byte & 0x0f) | 0x40; // version 4
    else if (i === 8) byte = (byte & 0x3f) | 0x80; // RFC 9562 variant
    const at = DIGITS[i]!;
    text[at] = HEX[byte >> 4]!;
    text[at + 1] = HEX[byte & 0x0f]!;
  }
  return text.toString("latin1");
}
