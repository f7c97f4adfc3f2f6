import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import type { IdTokenSigner } from "../../domain/ports/oidc-sessions.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import type { SigningKeyRing } from "./signing-key-ring.ts";

/**
 * ID tokens from the key rings: RS256 (OIDC's mandatory algorithm) from the
 * RSA ring, ES256 from the ring that signs access tokens, `typ: JWT` so that
 * an ID token is never mistaken for an access token (`at+jwt`) anywhere.
 */
export class IdTokens implements IdTokenSigner {
  private readonly rings: Readonly<Record<"RS256" | "ES256", SigningKeyRing>>;
  private readonly issuer: string;

  constructor(rings: Readonly<Record<"RS256" | "ES256", SigningKeyRing>>, issuer: string) {
    this.rings = rings;
    this.issuer = issuer;
  }

  async sign(claims: Record<string, unknown>, algorithm: "RS256" | "ES256"): Promise<string> {
    const { kid, key } = await this.rings[algorithm].signingKey();
    const token = await new SignJWT(claims).setProtectedHeader({ alg: algorithm, typ: "JWT", kid }).sign(key);
    return algorithm === "ES256" ? withLowS(token) : token;
  }

  async verifyHint(idToken: string): Promise<Record<string, unknown> | undefined> {
    try {
      const header = decodeProtectedHeader(idToken);
      if ((header.alg !== "RS256" && header.alg !== "ES256") || header.typ !== "JWT") return undefined;
      if (typeof header.kid !== "string") return undefined;
      const key = await this.rings[header.alg].verificationKey(header.kid);
      if (key === undefined) return undefined;
      const { payload } = await jwtVerify(idToken, key, {
        algorithms: [header.alg],
        issuer: this.issuer,
        // A hint may have expired (RP-Initiated Logout §2): only who issued it, and for whom, matter.
        currentDate: new Date(0),
      });
      return payload as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
