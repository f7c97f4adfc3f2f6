import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import {
  createGatehouseAuth,
  createGatehouseClient,
  type GatehouseAuth,
} from "../packages/client/src/index.ts";
import { type Benchmark, fmt, type Ratio, withCleanup } from "./support/benchmark.ts";
import { deploy } from "./support/launch.ts";
import { callJson, login, seedAccess, USER_PASSWORD } from "./support/seed.ts";

const ISSUER = "http://gatehouse.bench";
/** Distinct sessions cycled through, so that a decision without the token cache verifies a signature every time. */
const TOKENS = 32;

interface Way {
  readonly label: string;
  readonly decide: (token: string) => Promise<unknown>;
  /** Cycle through every token (true) or repeat the first one. */
  readonly distinctTokens: boolean;
}

/** Mean µs per sequential call, over `iterations` calls after a warm-up. */
async function timePerCall(way: Way, tokens: readonly string[], iterations: number): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await way.decide(tokens[i % tokens.length]!);
  const started = performance.now();
  for (let i = 0; i < iterations; i++)
    await way.decide(way.distinctTokens ? tokens[i % tokens.length]! : tokens[0]!);
  return ((performance.now() - started) * 1000) / iterations;
}

/**
 * The client package's middleware decision, in process, against plain
 * `jose.jwtVerify` (a local JWK set: the least a service verifying tokens
 * itself can do) and against a VerifyToken round trip per request (gRPC, the
 * client package's transport). The middleware is fed by WatchChanges from a
 * real Gatehouse and has remembered the subject's access: what it costs is
 * the JWT check plus revocation and access lookups in memory. Measured twice:
 * without its verified-token cache (a signature check per request, as
 * jwtVerify does) and with it (the same token again, as a client repeats it).
 * Sequential calls, interleaved rounds; the ratios come from the same run.
 */
export const middlewareDecision: Benchmark = {
  id: "middleware-decision",
  title: "Client middleware: local decision vs. jose.jwtVerify vs. a VerifyToken round trip",
  async run(context) {
    return withCleanup(async (defer) => {
      const deployment = await deploy(context, "middleware-decision");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const tokens = [seeded.tokens.accessToken];
      while (tokens.length < TOKENS)
        tokens.push((await login(server.url, seeded.username, USER_PASSWORD)).accessToken);
      const account = await callJson<{ serviceAccount: { clientId: string }; clientSecret: string }>(
        server.url,
        "gatehouse.v1.ServiceRegistryService/CreateServiceAccount",
        { name: `bench-app-${Date.now()}`, grants: [{ serviceId: seeded.serviceId, role: "viewer" }] },
        seeded.adminToken,
      );
      const client = createGatehouseClient({
        baseUrl: server.url,
        transport: "grpc",
        credentials: {
          type: "client_credentials",
          clientId: account.serviceAccount.clientId,
          clientSecret: account.clientSecret,
        },
      });
      const jwksUrl = `${server.url}/.well-known/jwks.json`;
      const makeAuth = (tokenCacheSize: number): GatehouseAuth =>
        createGatehouseAuth({
          client,
          issuer: ISSUER,
          jwksUrl,
          service: seeded.serviceSlug,
          requiredRole: "viewer",
          tokenCacheSize,
        });
      const uncached = makeAuth(0);
      const cached = makeAuth(10_000);
      for (const auth of [uncached, cached]) {
        defer(() => auth.close());
        if (!(await auth.start(15_000))) throw new Error("the middleware's change stream did not sync");
      }
      const keys = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);
      const expectAllowed = async (auth: GatehouseAuth) => {
        for (const token of tokens) {
          const decision = await auth.authorize(`Bearer ${token}`);
          if (decision.outcome !== "allowed")
            throw new Error(`expected allowed, got ${JSON.stringify(decision)}`);
        }
      };
      await expectAllowed(uncached);
      await expectAllowed(cached);

      const ways: Way[] = [
        {
          label: "jose.jwtVerify (local JWK set)",
          distinctTokens: true,
          decide: (token) => jwtVerify(token, keys, { issuer: ISSUER, audience: "gatehouse" }),
        },
        {
          label: "middleware, local decision (no token cache)",
          distinctTokens: true,
          decide: (token) => uncached.authorize(`Bearer ${token}`),
        },
        {
          label: "middleware, local decision (token cache hit)",
          distinctTokens: false,
          decide: (token) => cached.authorize(`Bearer ${token}`),
        },
        {
          label: "VerifyToken round trip (gRPC)",
          distinctTokens: true,
          decide: (token) =>
            client.auth.verifyToken({ token, serviceSlug: seeded.serviceSlug, requiredRole: "viewer" }),
        },
      ];
      const iterations = context.quick ? 3000 : 10_000;
      const rounds = context.quick ? 3 : 5;
      const samples = new Map<string, number[]>(ways.map((way) => [way.label, []]));
      for (let round = 0; round < rounds; round++) {
        for (const way of ways) {
          // The round trip is ~100× slower: fewer calls keep the rounds comparable in length.
          const n = way.label.startsWith("VerifyToken") ? Math.ceil(iterations / 10) : iterations;
          const us = await timePerCall(way, tokens, n);
          samples.get(way.label)!.push(us);
          context.log(`middleware-decision: round ${round + 1} ${way.label}: ${us.toFixed(1)} µs/call`);
        }
      }
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
      const perCall = new Map([...samples].map(([label, values]) => [label, median(values)]));
      const base = perCall.get(ways[0]!.label)!;
      const localUncached = perCall.get(ways[1]!.label)!;
      const localCached = perCall.get(ways[2]!.label)!;
      const roundTrip = perCall.get(ways[3]!.label)!;
      if (uncached.stats.verifyToken !== 1 || cached.stats.verifyToken !== 1)
        throw new Error(
          `the local decisions asked VerifyToken (${uncached.stats.verifyToken}, ${cached.stats.verifyToken} times; expected once each)`,
        );
      const ratios: Ratio[] = [
        {
          label: "local (no token cache) ÷ jwtVerify",
          value: localUncached / base,
          definition: "µs per middleware decision without its token cache ÷ µs per jose.jwtVerify",
        },
        {
          label: "local (token cache hit) ÷ jwtVerify",
          value: localCached / base,
          definition: "µs per middleware decision on a remembered token ÷ µs per jose.jwtVerify",
        },
        {
          label: "VerifyToken round trip ÷ jwtVerify",
          value: roundTrip / base,
          definition: "µs per sequential VerifyToken call over gRPC ÷ µs per jose.jwtVerify",
        },
      ];
      return {
        id: "middleware-decision",
        title: this.title,
        generator: "in process: sequential calls from the benchmark process (one core), interleaved rounds",
        setup: [
          `${rounds} rounds of ${iterations} calls (VerifyToken: ${Math.ceil(iterations / 10)}), median per way`,
          `${TOKENS} distinct ES256 access tokens of one user holding editor; route requires viewer on one service`,
          "the middleware's change stream synced; the subject's access remembered from one VerifyToken",
        ],
        measurements: [],
        ratios,
        targets: [
          {
            description: "local decision (a signature check per request) within 2× of jose.jwtVerify",
            met: localUncached / base <= 2,
            measured: `${fmt.ratio(localUncached / base)}×`,
          },
        ],
        tables: [
          {
            title: "Cost per decision",
            columns: ["way", "µs per call", "÷ jwtVerify"],
            rows: ways.map((way) => {
              const us = perCall.get(way.label)!;
              return [way.label, us.toFixed(1), fmt.ratio(us / base)];
            }),
          },
        ],
        notes: [
          "The middleware asked VerifyToken once per subject and question, then decided from memory; revocations come from WatchChanges.",
          "The machine is shared: absolute figures move between runs, the ratios (same run) less so.",
        ],
        data: Object.fromEntries(samples),
      };
    });
  },
};
