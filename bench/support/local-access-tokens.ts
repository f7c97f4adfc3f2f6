import { AccessTokens } from "../../src/identity/local/access-tokens.ts";
import { Sealer } from "../../src/identity/local/sealer.ts";
import { SigningKeyRing } from "../../src/identity/local/signing-key-ring.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { MemorySigningKeyStore } from "../../test/support/fakes/memory-signing-key-store.ts";

/** The built-in provider's access tokens (issuer and verifier), its key ring in memory: for in-process benchmarks. */
export async function localAccessTokens(): Promise<AccessTokens> {
  const ring = new SigningKeyRing(
    new MemorySigningKeyStore(),
    new Sealer(Buffer.alloc(32, 7), "signing-keys"),
    createLogger("silent"),
    { rotationMs: 30 * 86_400_000, verifyAfterRetirementMs: 600_000 },
  );
  await ring.maintain();
  return new AccessTokens(ring, {
    issuer: "https://gatehouse.bench",
    audience: "gatehouse",
    ttlSeconds: 3600,
    clockSkewSeconds: 30,
  });
}
