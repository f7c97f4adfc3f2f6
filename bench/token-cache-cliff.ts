/**
 * The verified-token cache's cliff, in process: DecisionEngine.decide calls
 * per second with a cyclic working set of ES256 tokens that fits the cache
 * (0.9× DECISION_CACHE_SIZE) and one 1.5× its size, each replayed several
 * times after a warm-up round; every miss is the built-in provider's real verification
 * (src/identity/local/access-tokens.ts). CPU per decision from process.cpuUsage. Not part
 * of `npm run bench` nor of the tests.
 *
 *   scripts/node24.sh node bench/token-cache-cliff.ts [cacheSize]
 */
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
import { localAccessTokens } from "./support/local-access-tokens.ts";

const CACHE = Number(process.argv[2] ?? 20_000);
const REPLAYS = 4;

// The built-in provider's own tokens and verifier (src/identity/local/access-tokens.ts), key ring in memory.
const accessTokens = await localAccessTokens();
const verifier: AccessTokenVerifier & { calls: number } = {
  calls: 0,
  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    this.calls++;
    return accessTokens.verifyAccessToken(token);
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
    const issued = await accessTokens.issue({
      kind: "user",
      subjectId: "u1",
      sessionId: `s${i}`,
      clientId: "bench",
    });
    out.push(issued.token);
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
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let round = 0; round < REPLAYS; round++)
    for (const token of workingSet) await engine.decide({ token });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const rate = (REPLAYS * workingSet.length) / seconds;
  const verified = (verifier.calls - calls0) / (REPLAYS * workingSet.length);
  const cpuPerCall = (cpu.user + cpu.system) / (REPLAYS * workingSet.length);
  console.log(
    `${label.padEnd(34)} ${rate.toFixed(0).padStart(8)} decisions/s, ${cpuPerCall.toFixed(1).padStart(6)} µs CPU each, ${verified.toFixed(3)} of them verified a signature`,
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
