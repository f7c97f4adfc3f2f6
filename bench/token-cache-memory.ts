/**
 * Heap per entry of the decision engine's verified-token cache, roughly:
 * fills a cache with N entries shaped as the engine stores them and reports
 * the heap growth (after a full GC) divided by N. Not part of `npm run bench`
 * nor of the tests.
 *
 *   scripts/node24.sh node --expose-gc bench/token-cache-memory.ts [N]
 *
 * Variants: the claims objects alone (what any cache must hold), the cache as
 * it was (lru-cache, base64 SHA-256 key, a `{ claims }` wrapper, a TTL per
 * entry) and as it is (SieveCache with its admission sketch, the SHA-256 as a
 * 32-character one-byte string, the claims stored as they are).
 */
import { hash, randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { SieveCache } from "../src/domain/decision/sieve-cache.ts";
import type { AccessTokenClaims } from "../src/domain/tokens/access-token.ts";
import { localAccessTokens } from "./support/local-access-tokens.ts";

const N = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const NOW = Date.now();

/** Claims as the verifier returns them: strings fresh from JSON.parse of the token's payload. */
function claimsFor(i: number): { token: string; claims: AccessTokenClaims } {
  const payload = JSON.parse(
    JSON.stringify({
      sub: randomUUID(),
      sid: randomUUID(),
      jti: randomUUID(),
      azp: "gatehouse-console",
      iat: Math.floor(NOW / 1000),
      exp: Math.floor(NOW / 1000) + 300 + (i % 60),
    }),
  );
  const claims: AccessTokenClaims = {
    kind: "user",
    subjectId: payload.sub,
    sessionId: payload.sid,
    tokenId: payload.jti,
    clientId: payload.azp,
    issuedAt: payload.iat,
    expiresAt: payload.exp,
  };
  return { token: `eyJhbGciOiJFZERTQSJ9.${payload.jti}.${randomUUID()}`, claims };
}

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

function measure(name: string, fill: () => unknown): number {
  const before = heapUsed();
  const held = fill();
  const perEntry = (heapUsed() - before) / N;
  console.log(`${name.padEnd(58)} ${perEntry.toFixed(0).padStart(5)} bytes per entry`);
  if (held === undefined) throw new Error("nothing held");
  return perEntry;
}

const digestHash = (key: string) =>
  key.charCodeAt(0) | (key.charCodeAt(1) << 8) | (key.charCodeAt(2) << 16) | (key.charCodeAt(3) << 24);

console.log(`${N} entries, Node ${process.version}`);
const claimsAlone = measure("claims objects alone (in an array)", () =>
  Array.from({ length: N }, (_, i) => claimsFor(i).claims),
);
const lru = measure("lru-cache, base64 key, { claims } wrapper, TTL", () => {
  const cache = new LRUCache<string, { claims: AccessTokenClaims }>({ max: N, ttlAutopurge: false });
  for (let i = 0; i < N; i++) {
    const { token, claims } = claimsFor(i);
    cache.set(hash("sha256", token, "base64"), { claims }, { ttl: claims.expiresAt * 1000 - NOW });
  }
  return cache;
});
const sieve = measure("SieveCache + admission sketch, one-byte key, claims as is", () => {
  const cache = new SieveCache<string, AccessTokenClaims>(N, { hash: digestHash });
  for (let i = 0; i < N; i++) {
    const { token, claims } = claimsFor(i);
    cache.set(hash("sha256", token, "binary"), claims, claims.expiresAt * 1000, NOW);
  }
  return cache;
});
// The claims as the built-in provider's verifier really returns them, from tokens it issued.
const accessTokens = await localAccessTokens();
const issued: string[] = [];
for (let i = 0; i < N; i++) {
  const subject = {
    kind: "user",
    subjectId: randomUUID(),
    sessionId: randomUUID(),
    clientId: "gatehouse-console",
  } as const;
  issued.push((await accessTokens.issue(subject)).token);
}
// The tokens stay alive throughout, so that only what the cache keeps of each is counted.
const before = heapUsed();
const cache = new SieveCache<string, AccessTokenClaims>(N, { hash: digestHash });
for (const token of issued) {
  const claims = await accessTokens.verifyAccessToken(token);
  cache.set(hash("sha256", token, "binary"), claims, claims.expiresAt * 1000, NOW);
}
const real = (heapUsed() - before) / N;
if (cache.size !== N || issued.length !== N) throw new Error("not all held");
console.log(`the built-in provider's claims in the cache: ${real.toFixed(0)} B per entry`);
console.log(
  `cache overhead beyond the claims: lru-cache ${(lru - claimsAlone).toFixed(0)} B, SieveCache ${(sieve - claimsAlone).toFixed(0)} B`,
);
