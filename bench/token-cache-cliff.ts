/**
 * The verified-token cache's cliff, in process: DecisionEngine.decide calls
 * per second with a cyclic working set of ES256 tokens that fits the cache
 * (0.9× DECISION_CACHE_SIZE) and one 1.5× its size, each replayed several
 * times after a warm-up round; every miss is a real `jose.jwtVerify`. Not part
 * of `npm run bench` nor of the tests.
 *
 *   scripts/node24.sh node bench/token-cache-cliff.ts [cacheSize]
 */
import { generateKeyPair, jwtVerify, SignJWT } from "jose";
import { MemoryCoordinationStore } from "../src/cache/memory-coordination-store.ts";
import { ChangeFeed } from "../src/domain/change-feed/change-feed.ts";
import { AccessDirectory } from "../src/domain/decision/access-directory.ts";
import { DecisionEngine } from "../src/domain/decision/decision-engine.ts";
import { ServiceDirectory } from "../src/domain/decision/service-directory.ts";
import type { SubjectAccess } from "../src/domain/decision/subject-access.ts";
import { RevocationRegistry } from "../src/domain/revocation/revocation-registry.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../src/domain/tokens/access-token.ts";
import { createLogger } from "../src/observability/logger.ts";
import { MemoryChangeLog } from "../test/support/fakes/memory-change-log.ts";

const CACHE = Number(process.argv[2] ?? 20_000);
const REPLAYS = 4;

const { privateKey, publicKey } = await generateKeyPair("ES256");
const verifier: AccessTokenVerifier & { calls: number } = {
  calls: 0,
  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    this.calls++;
    const { payload } = await jwtVerify(token, publicKey, { issuer: "bench", audience: "gatehouse" });
    return {
      kind: "user",
      subjectId: payload.sub!,
      sessionId: String(payload.sid),
      tokenId: payload.jti!,
      clientId: "bench",
      issuedAt: payload.iat!,
      expiresAt: payload.exp!,
    };
  },
};
const subject: SubjectAccess = {
  kind: "user",
  id: "u1",
  active: true,
  name: "bench",
  grants: new Map(),
  user: undefined,
};

async function tokens(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      await new SignJWT({ sid: `s${i}` })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer("bench")
        .setAudience("gatehouse")
        .setSubject("u1")
        .setJti(`t${i}`)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    );
  }
  return out;
}

async function run(label: string, workingSet: string[]): Promise<number> {
  const store = new MemoryCoordinationStore();
  const feed = new ChangeFeed(new MemoryChangeLog(), store, createLogger("silent"), {
    pollIntervalMs: 60_000,
    degradedPollIntervalMs: 1000,
  });
  const revocations = new RevocationRegistry(feed, 3_600_000);
  const repository = { loadUser: async () => subject, loadServiceAccount: async () => undefined };
  const engine = new DecisionEngine(
    {
      verifier,
      revocations,
      access: new AccessDirectory(repository, feed, { maxEntries: 1000, ttlMs: 3_600_000 }),
      services: new ServiceDirectory(
        {
          loadAll: async () => ({ version: 0, services: [] }),
          loadOne: async () => undefined,
          latestVersion: async () => 0,
        },
        new Map(),
        feed,
      ),
      changes: feed,
    },
    { tokenCacheSize: CACHE, clockSkewSeconds: 30 },
  );
  await feed.start();
  for (const token of workingSet) await engine.decide({ token });
  const calls0 = verifier.calls;
  const started = process.hrtime.bigint();
  for (let round = 0; round < REPLAYS; round++)
    for (const token of workingSet) await engine.decide({ token });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = (REPLAYS * workingSet.length) / seconds;
  const verified = (verifier.calls - calls0) / (REPLAYS * workingSet.length);
  console.log(
    `${label.padEnd(34)} ${rate.toFixed(0).padStart(8)} decisions/s, ${verified.toFixed(3)} of them verified a signature`,
  );
  await feed.close();
  revocations.close();
  await store.close();
  return rate;
}

const all = await tokens(Math.round(CACHE * 1.5));
console.log(
  `DECISION_CACHE_SIZE=${CACHE}, ${REPLAYS} replays after a warm-up round, Node ${process.version}`,
);
const fits = await run(
  `working set 0.9× (${Math.round(CACHE * 0.9)})`,
  all.slice(0, Math.round(CACHE * 0.9)),
);
const over = await run(`working set 1.5× (${all.length})`, all);
console.log(`1.5× ÷ 0.9× throughput: ${(over / fits).toFixed(2)}`);
