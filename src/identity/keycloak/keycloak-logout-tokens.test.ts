import { randomUUID } from "node:crypto";
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { BACKCHANNEL_LOGOUT_EVENT, KeycloakLogoutTokens } from "./keycloak-logout-tokens.ts";

const ISSUER = "http://keycloak.test/realms/gatehouse";

async function setup() {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" }] });
  const verifier = new KeycloakLogoutTokens(
    { issuer: ISSUER },
    { keys: () => jwks as never },
    { audiences: ["gatehouse-backend", "gatehouse-web"], clockSkewSeconds: 5 },
  );
  const sign = (
    claims: JWTPayload,
    options: { iat?: number; audience?: string; jti?: boolean; issuer?: string } = {},
  ) => {
    const jwt = new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, sid: "s1", sub: "u1", ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? "gatehouse-web")
      .setIssuedAt(options.iat);
    if (options.jti !== false) jwt.setJti(randomUUID());
    return jwt.sign(privateKey);
  };
  return { verifier, sign };
}

describe("KeycloakLogoutTokens", () => {
  it("accepts a logout token of the realm for a listed client, with its sid and sub", async () => {
    const { verifier, sign } = await setup();
    const claims = await verifier.verify(await sign({}));
    expect(claims).toMatchObject({ sessionId: "s1", subject: "u1" });
    expect(claims.tokenId).not.toBe("");
  });

  it("refuses what OIDC Back-Channel Logout 1.0 refuses", async () => {
    const { verifier, sign } = await setup();
    const refused = [
      await sign({ nonce: "n" }),
      await sign({ events: {} }),
      await sign({ events: { [BACKCHANNEL_LOGOUT_EVENT]: "yes" } }),
      await sign({ sid: undefined, sub: undefined }),
      await sign({}, { audience: "someone-else" }),
      await sign({}, { jti: false }),
      await sign({}, { issuer: "http://elsewhere.test" }),
      // Older than ten minutes.
      await sign({}, { iat: Math.floor(Date.now() / 1000) - 3600 }),
    ];
    for (const [i, token] of refused.entries()) {
      await expect(verifier.verify(token), `case ${i}`).rejects.toMatchObject({
        kind: "invalid_argument",
        reason: "invalid_logout_token",
      });
    }
  });
});
