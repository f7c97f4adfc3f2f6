import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../domain/errors.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import { readCompactJws, verifiedPayload } from "./es256-compact-jws.ts";

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
