import { expectCheckVerdict } from "./check-warm.ts";
import { type Benchmark, fmt, type Target, withCleanup } from "./support/benchmark.ts";
import { distinctCheckFrames } from "./support/cold-tokens.ts";
import type { BenchServer } from "./support/gatehouse-server.ts";
import { CHECK_PATH } from "./support/grpc-frames.ts";
import { GRPC_HEADERS } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { runNodeLoad } from "./support/node-load.ts";
import { seedAccess } from "./support/seed.ts";
import { loadMintingMaterial, TokenMinter } from "./support/token-minter.ts";

interface Sample {
  readonly phase: string;
  readonly calls: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly cachedTokens: number;
  readonly rate: number;
}

/** Reads a few gauges from the server's /metrics (prom-client's process and heap metrics, the decision cache size). */
async function scrape(
  server: BenchServer,
): Promise<{ heapUsed: number; heapTotal: number; external: number; cachedTokens: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const gauge = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsed: gauge("nodejs_heap_size_used_bytes"),
    heapTotal: gauge("nodejs_heap_size_total_bytes"),
    external: gauge("nodejs_external_memory_bytes"),
    cachedTokens: gauge("gatehouse_decision_cached_tokens"),
  };
}

/**
 * 10. Resident memory under a stream of distinct tokens: 1,000,000 Check
 * calls, each with a token never seen before — 900,000 validly signed
 * (minted by the generator with the server's key: positive cache entries),
 * then 100,000 forged (negative entries, which replace them all). The
 * verified-token cache is capped by DECISION_CACHE_SIZE=100000: memory should
 * rise while it fills and then stay flat. RSS comes from /proc; heap and
 * cache size from /metrics.
 */
export const memory: Benchmark = {
  id: "memory",
  title:
    "Memory: RSS over 1,000,000 Check calls, each with a token never seen before (DECISION_CACHE_SIZE=100000)",
  async run(context) {
    const cacheSize = context.quick ? 20_000 : 100_000;
    const batch = context.quick ? 40_000 : 100_000;
    // 1,000,000 calls in all (200,000 in quick mode): the last batch of them with forged tokens.
    const validBatches = context.quick ? 4 : 9;
    const forgedBatches = 1;
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "memory", { DECISION_CACHE_SIZE: String(cacheSize) });
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const material = await loadMintingMaterial(
        deployment.database.url,
        server.env.KEY_ENCRYPTION_KEY!,
        seeded.tokens.accessToken,
      );
      const minter = new TokenMinter(material);
      await expectCheckVerdict(
        server.url,
        distinctCheckFrames(1, minter, seeded.serviceSlug, "valid")[0]!,
        0,
        "minted token",
      );

      const samples: Sample[] = [];
      let calls = 0;
      let crash: string | undefined;
      const sample = async (phase: string, rate: number) => {
        const { heapUsed, heapTotal, external, cachedTokens } = await scrape(server);
        samples.push({
          phase,
          calls,
          rssBytes: server.rssBytes(),
          heapUsedBytes: heapUsed,
          heapTotalBytes: heapTotal,
          externalBytes: external,
          cachedTokens,
          rate,
        });
      };
      await sample("start (seeded, idle)", Number.NaN);
      const phases = [
        ...Array.from({ length: validBatches }, () => "valid" as const),
        ...Array.from({ length: forgedBatches }, () => "forged" as const),
      ];
      for (const [index, kind] of phases.entries()) {
        context.log(
          `memory: batch ${index + 1}/${phases.length} (${kind}), ${calls.toLocaleString("en-US")} calls so far`,
        );
        let run: Awaited<ReturnType<typeof runNodeLoad>>;
        try {
          run = await runNodeLoad({
            url: server.url,
            path: CHECK_PATH,
            headers: GRPC_HEADERS,
            mint: { material, service: seeded.serviceSlug, requiredRole: "viewer", forge: kind === "forged" },
            maxRequests: batch,
            connections: 4,
            streamsPerConnection: 16,
            durationMs: 3_600_000,
            warmupMs: 0,
            sampleEvery: 100,
            decodeCheckVerdict: true,
            serverPids: [server.pid],
          });
        } catch (error) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (server.exitCode() === null) throw error;
          crash = `the server exited (code ${server.exitCode()}) during batch ${index + 1} (${kind}), after ${calls.toLocaleString("en-US")} calls; its last log lines: ${server.logTail(6).replaceAll("\n", " ⏎ ").slice(0, 1500)}`;
          break;
        }
        const expected = kind === "valid" ? "0" : "16";
        const wrong = Object.keys(run.verdicts ?? {}).filter((code) => code !== expected);
        if (wrong.length > 0) throw new Error(`batch ${index + 1}: verdicts ${JSON.stringify(run.verdicts)}`);
        if (run.errors > 0)
          throw new Error(`batch ${index + 1}: ${run.errors} failed calls (${run.firstError})`);
        calls += run.requests;
        await sample(
          kind === "valid" ? "distinct valid tokens" : "distinct forged tokens",
          run.requests / run.durationS,
        );
      }

      const validSamples = samples.filter((s) => s.phase === "distinct valid tokens");
      // Warm-up: the cache fills during the first batch(es); the reference is the third valid batch (or the last if fewer).
      const reference = validSamples[Math.min(2, validSamples.length - 1)]!;
      const lastValid = validSamples[validSamples.length - 1]!;
      const peak = Math.max(...samples.map((s) => s.rssBytes));
      const forgedPeak = Math.max(
        0,
        ...samples.filter((s) => s.phase === "distinct forged tokens").map((s) => s.rssBytes),
      );
      const targets: Target[] = [];
      const growth = (lastValid.rssBytes - reference.rssBytes) / reference.rssBytes;
      const start = samples[0]!;
      const full = validSamples.find((s) => s.cachedTokens >= cacheSize) ?? reference;
      const perEntry = (full.heapUsedBytes - start.heapUsedBytes) / Math.max(1, full.cachedTokens);
      if (crash !== undefined) {
        targets.push({
          description: "the server survives the stream of distinct tokens",
          met: false,
          measured: crash,
        });
      }
      targets.push(
        {
          description: `verified-token cache bounded by DECISION_CACHE_SIZE (${cacheSize.toLocaleString("en-US")})`,
          met: samples.every((s) => s.cachedTokens <= cacheSize),
          measured: `max ${Math.max(...samples.map((s) => s.cachedTokens)).toLocaleString("en-US")} entries`,
        },
        {
          description: `no RSS growth after warm-up: ≤ 10% from ${reference.calls.toLocaleString("en-US")} to ${lastValid.calls.toLocaleString("en-US")} calls`,
          met: growth <= 0.1,
          measured: `${(growth * 100).toFixed(1)}% (${fmt.mib(reference.rssBytes)} → ${fmt.mib(lastValid.rssBytes)} MiB; peak ${fmt.mib(peak)} MiB)`,
        },
        {
          description:
            "the negative cache is bounded too: RSS after the forged batches ≤ 1.5× RSS after the valid ones",
          met: crash === undefined && forgedPeak <= 1.5 * lastValid.rssBytes,
          measured:
            crash === undefined
              ? `${fmt.mib(forgedPeak)} vs ${fmt.mib(lastValid.rssBytes)} MiB`
              : "the server did not survive",
        },
      );
      return {
        id: "memory",
        title: `Memory: RSS over ${((validBatches + forgedBatches) * batch).toLocaleString("en-US")} Check calls, each with a token never seen before (DECISION_CACHE_SIZE=${cacheSize})`,
        generator:
          "node-h2 in mint mode: the generator process signs a new token for every call with the server's key (4 connections × 16 streams)",
        setup: [
          `PostgreSQL + Redis, one Gatehouse process, DECISION_CACHE_SIZE=${cacheSize}`,
          `${validBatches} batches of ${batch.toLocaleString("en-US")} calls with distinct valid tokens, then ${forgedBatches} batch${forgedBatches === 1 ? "" : "es"} of distinct forged ones; RSS sampled after each batch`,
        ],
        measurements: [],
        ratios: [
          {
            label: "heap per cached token",
            value: perEntry,
            definition:
              "(heap used when the cache first holds DECISION_CACHE_SIZE tokens − heap used at start) ÷ tokens cached, in bytes: a rough cost of one entry",
          },
        ],
        targets,
        tables: [
          {
            title: "After each batch",
            columns: [
              "calls",
              "batch",
              "RSS MiB",
              "heap used / total MiB",
              "external MiB",
              "cached tokens",
              "calls/s",
            ],
            rows: samples.map((s) => [
              s.calls.toLocaleString("en-US"),
              s.phase,
              fmt.mib(s.rssBytes),
              `${fmt.mib(s.heapUsedBytes)} / ${fmt.mib(s.heapTotalBytes)}`,
              fmt.mib(s.externalBytes),
              s.cachedTokens.toLocaleString("en-US"),
              fmt.rate(s.rate),
            ]),
          },
        ],
        notes: crash === undefined ? [] : [crash],
        data: { samples },
      };
    });
  },
};
