import { SignJWT } from "jose";
import type { LogoutTokenSigner } from "../../domain/ports/logout-tokens.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import type { SigningKeyRing } from "./signing-key-ring.ts";

/** OIDC Back-Channel Logout 1.0 §2.4 (and RFC 8725 §3.11): explicit typing, never taken for an ID or access token. */
export const LOGOUT_TOKEN_TYPE = "logout+jwt";

/**
 * Logout tokens from the issuer's key rings, in the algorithm the client
 * registered for its ID tokens. Until an RS256 ring is wired in, RS256
 * clients get ES256 (published in the same JWKS).
 */
export class LogoutTokens implements LogoutTokenSigner {
  private readonly rings: Readonly<Partial<Record<"RS256" | "ES256", SigningKeyRing>>> & {
    readonly ES256: SigningKeyRing;
  };

  constructor(rings: LogoutTokens["rings"]) {
    this.rings = rings;
  }

  async sign(claims: Record<string, unknown>, algorithm: "RS256" | "ES256"): Promise<string> {
    const alg = this.rings[algorithm] === undefined ? "ES256" : algorithm;
    const { kid, key } = await this.rings[alg]!.signingKey();
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg, typ: LOGOUT_TOKEN_TYPE, kid })
      .sign(key);
    return alg === "ES256" ? withLowS(token) : token;
  }
}
