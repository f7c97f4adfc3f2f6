import { generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../domain/errors.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import { derSignature, readCompactJws, verifiedPayload } from "./es256-compact-jws.ts";

const reason = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.reason;
    throw error;
  }
  throw new Error("accepted");
};

const compact = (header: object, payload: object) =>
  `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;

describe("ES256 compact JWS verification", () => {
  it("verifies with a P-256 key and returns the payload", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const input = compact({ alg: "ES256" }, { sub: "a" });
    const token = withLowS(
      `${input}.${sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`,
    );
    expect(verifiedPayload(readCompactJws(token), publicKey)).toEqual({ sub: "a" });
  });

  it("never verifies under ES256's name with another kind of key (RS256 with a 512-bit key is 64 bytes too)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 512 });
    const input = compact({ alg: "ES256" }, { sub: "a" });
    const signature = sign("sha256", Buffer.from(input), privateKey);
    expect(signature.length).toBe(64);
    const token = `${input}.${signature.toString("base64url")}`;
    expect(reason(() => verifiedPayload(readCompactJws(token), publicKey))).toBe("unsupported_algorithm");
  });

  it("pins the algorithm before anything else is read", () => {
    for (const alg of ["none", "HS256", "RS256", "ES384", "es256", undefined]) {
      expect(reason(() => readCompactJws(`${compact({ alg }, {})}.`))).toBe("unsupported_algorithm");
    }
  });
});

describe("DER form of a P1363 signature", () => {
  it("verifies under node:crypto as the P1363 form does", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    for (let i = 0; i < 40; i++) {
      const data = Buffer.from(`message ${i}`);
      const p1363 = sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" });
      expect(verify("sha256", data, publicKey, derSignature(p1363))).toBe(true);
      expect(verify("sha256", Buffer.from(`other ${i}`), publicKey, derSignature(p1363))).toBe(false);
    }
  });

  it("is the minimal DER encoding, for every shape of r and s", () => {
    const shapes = [
      Buffer.alloc(32, 0x11),
      Buffer.alloc(32, 0xff),
      Buffer.concat([Buffer.alloc(1, 0), Buffer.alloc(31, 0x90)]),
      Buffer.concat([Buffer.alloc(5, 0), Buffer.alloc(27, 0x22)]),
      Buffer.concat([Buffer.alloc(31, 0), Buffer.from([0x85])]),
      Buffer.concat([Buffer.alloc(31, 0), Buffer.from([0x01])]),
    ];
    for (const r of shapes) {
      for (const s of shapes) {
        const p1363 = Buffer.concat([r, s]);
        expect(derSignature(p1363).toString("hex")).toBe(referenceDer(p1363).toString("hex"));
      }
    }
  });
});

/** The minimal DER INTEGERs, written out the long way. */
function referenceDer(p1363: Buffer): Buffer {
  const integer = (bytes: Buffer) => {
    let value = bytes;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value[0]! & 0x80) value = Buffer.concat([Buffer.from([0]), value]);
    return Buffer.concat([Buffer.from([0x02, value.length]), value]);
  };
  const body = Buffer.concat([integer(p1363.subarray(0, 32)), integer(p1363.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
