import { expectCheckVerdict } from "./check-warm.ts";
import { type Benchmark, fmt, type Ratio, type Target, withCleanup } from "./support/benchmark.ts";
import { distinctCheckFrames, framesNeeded } from "./support/cold-tokens.ts";
import { CHECK_PATH, checkFrame, HEALTH_CHECK_PATH, healthCheckFrame } from "./support/grpc-frames.ts";
import { GRPC_HEADERS, grpcLoad, runH2load } from "./support/h2load.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, type LoadRun, type Measurement } from "./support/load-run.ts";
import { runNodeLoad } from "./support/node-load.ts";
import { interleave } from "./support/rounds.ts";
import { callJson, login, seedAccess } from "./support/seed.ts";
import { loadMintingMaterial, TokenMinter } from "./support/token-minter.ts";

const CONCURRENCY = 64;

/**
 * 3. The deny path under a flood (c=64): forged tokens (a signature that does
 * not verify) and revoked tokens (a logged-out session), each both repeated
 * (h2load: the same bad token again and again) and distinct on every request
 * (node-h2: what an attacker would send to get past caches). Each is set
 * against the allow path measured with the same generator, in the same
 * rounds: denying must not cost more than allowing.
 */
export const checkDeny: Benchmark = {
  id: "check-deny",
  title: "Check (ext_authz), deny path: forged and revoked tokens, vs. allow",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "check-deny");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const slug = seeded.serviceSlug;

      // A second session of the same user, logged out: its tokens are revoked (session_revoked).
      const revokedSession = await login(server.url, seeded.username, seeded.password);
      const revokedMinter = new TokenMinter(
        await loadMintingMaterial(
          deployment.database.url,
          server.env.KEY_ENCRYPTION_KEY!,
          revokedSession.accessToken,
        ),
      );
      await callJson(server.url, "gatehouse.v1.AuthService/Logout", {
        refreshToken: revokedSession.refreshToken,
      });
      const minter = new TokenMinter(
        await loadMintingMaterial(
          deployment.database.url,
          server.env.KEY_ENCRYPTION_KEY!,
          seeded.tokens.accessToken,
        ),
      );

      const frames = {
        health: healthCheckFrame(),
        allow: checkFrame(seeded.tokens.accessToken, slug),
        forged: checkFrame(minter.forge(), slug),
        revoked: checkFrame(revokedSession.accessToken, slug),
      };
      await expectCheckVerdict(server.url, frames.allow, 0, "allow");
      await expectCheckVerdict(server.url, frames.forged, 16, "forged token");
      await expectCheckVerdict(server.url, frames.revoked, 16, "revoked token");
      await expectCheckVerdict(
        server.url,
        distinctCheckFrames(1, revokedMinter, slug, "valid")[0]!,
        16,
        "minted token of the revoked session",
      );
      await expectCheckVerdict(
        server.url,
        distinctCheckFrames(1, minter, slug, "forged")[0]!,
        16,
        "distinct forged token",
      );

      const h2 = grpcLoad(context, server, CONCURRENCY);
      context.log("check-deny: repeated tokens (h2load)");
      const [healthRuns, allowRuns, forgedRuns, revokedRuns] = await interleave(context.rounds, [
        () => runH2load({ ...h2, path: HEALTH_CHECK_PATH, body: frames.health }),
        () => runH2load({ ...h2, path: CHECK_PATH, body: frames.allow }),
        () => runH2load({ ...h2, path: CHECK_PATH, body: frames.forged }),
        () => runH2load({ ...h2, path: CHECK_PATH, body: frames.revoked }),
      ]);
      // h2load sees HTTP 200 only: the verdicts must not have changed under load.
      await expectCheckVerdict(server.url, frames.allow, 0, "allow after the load");
      await expectCheckVerdict(server.url, frames.forged, 16, "forged after the load");

      context.log("check-deny: distinct tokens (node-h2)");
      let fastest = 0;
      const node = {
        url: server.url,
        headers: GRPC_HEADERS,
        connections: h2.connections,
        streamsPerConnection: h2.streams,
        durationMs: context.durationS * 1000,
        warmupMs: context.warmupS * 1000,
        serverPids: [server.pid],
        sampleEvery: 16,
        decodeCheckVerdict: true,
        path: CHECK_PATH,
      };
      const distinct = (tokenMinter: TokenMinter, kind: "valid" | "forged") => async (): Promise<LoadRun> => {
        const run = await runNodeLoad({
          ...node,
          frames: distinctCheckFrames(
            framesNeeded(fastest, context.durationS, context.warmupS),
            tokenMinter,
            slug,
            kind,
          ),
        });
        fastest = Math.max(fastest, run.requests / Math.max(run.durationS, 0.001));
        return run;
      };
      const [coldAllowRuns, coldForgedRuns, coldRevokedRuns] = await interleave(context.rounds, [
        distinct(minter, "valid"),
        distinct(minter, "forged"),
        distinct(revokedMinter, "valid"),
      ]);

      const c = `c=${CONCURRENCY}`;
      const m = {
        health: combineRuns(`Health/Check (baseline) ${c}`, healthRuns!),
        allow: combineRuns(`allow, same token ${c}`, allowRuns!),
        forged: combineRuns(`deny: forged, same token ${c}`, forgedRuns!),
        revoked: combineRuns(`deny: revoked session, same token ${c}`, revokedRuns!),
        coldAllow: combineRuns(`allow, new token each request ${c}`, coldAllowRuns!),
        coldForged: combineRuns(`deny: forged, new token each request ${c}`, coldForgedRuns!),
        coldRevoked: combineRuns(`deny: revoked session, new token each request ${c}`, coldRevokedRuns!),
      };
      const expectVerdicts = (measurement: Measurement, code: string) => {
        const other = Object.keys(measurement.verdicts ?? {}).filter((verdict) => verdict !== code);
        if (other.length > 0)
          throw new Error(`${measurement.label}: verdicts ${JSON.stringify(measurement.verdicts)}`);
      };
      expectVerdicts(m.coldAllow, "0");
      expectVerdicts(m.coldForged, "16");
      expectVerdicts(m.coldRevoked, "16");

      const ratios: Ratio[] = [];
      const targets: Target[] = [];
      const compare = (deny: Measurement, allow: Measurement, name: string) => {
        const ratio = deny.throughput / allow.throughput;
        ratios.push({
          label: name,
          value: ratio,
          definition: `${deny.label} req/s ÷ ${allow.label} req/s (${deny.generator})`,
        });
        ratios.push({
          label: `${name}, p99`,
          value: deny.p99Ms / allow.p99Ms,
          definition: `${deny.label} p99 ÷ ${allow.label} p99`,
        });
        // "Not slower", with a 5% allowance for run-to-run noise on a shared machine.
        targets.push({
          description: `${name}: deny throughput ≥ allow throughput (±5%)`,
          met: ratio >= 0.95,
          measured: `${fmt.ratio(ratio)}× (${fmt.rate(deny.throughput)} vs ${fmt.rate(allow.throughput)} req/s; p99 ${fmt.ms(deny.p99Ms)} vs ${fmt.ms(allow.p99Ms)} ms)`,
        });
      };
      compare(m.forged, m.allow, "forged, same token");
      compare(m.revoked, m.allow, "revoked, same token");
      compare(m.coldForged, m.coldAllow, "forged, new token each request");
      compare(m.coldRevoked, m.coldAllow, "revoked, new token each request");
      ratios.push({
        label: "forged flood vs. baseline",
        value: m.coldForged.throughput / m.health.throughput,
        definition:
          "forged, new token each request (node-h2) req/s ÷ Health/Check (h2load) req/s — generators differ; indicative",
      });
      return {
        id: "check-deny",
        title: checkDeny.title,
        generator:
          "h2load for the repeated-token cases (and the Health/Check baseline); node-h2 for the new-token-each-request cases, whose allow reference is measured with the same generator",
        setup: [
          "PostgreSQL + Redis, one Gatehouse process",
          "forged: a token minted with the server's key, two bytes of its signature flipped (invalid_signature); revoked: a token of a session ended with Logout (session_revoked); new-token cases mint a fresh jti per request",
        ],
        measurements: Object.values(m),
        ratios,
        targets,
        tables: [],
        notes: [],
      };
    });
  },
};
