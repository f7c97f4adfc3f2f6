import { expectCheckVerdict } from "./check-warm.ts";
import { type Benchmark, fmt, type Ratio, withCleanup } from "./support/benchmark.ts";
import { CHECK_PATH, checkFrame, VERIFY_TOKEN_PATH } from "./support/grpc-frames.ts";
import { GRPC_HEADERS, runH2load } from "./support/h2load.ts";
import { BenchKeycloak, keycloakJavaPid } from "./support/keycloak-instance.ts";
import { deploy } from "./support/launch.ts";
import { combineRuns, connectionsFor, type LoadRun, type Measurement } from "./support/load-run.ts";
import { startOidcProvider } from "./support/oidc-provider-server.ts";
import { warmUntilPlateau } from "./support/plateau.ts";
import { startReferenceServer } from "./support/reference-server.ts";
import { interleave } from "./support/rounds.ts";
import { seedAccess } from "./support/seed.ts";

// c=1 too: the issue compares VerifyToken with oidc-provider one call at a time as well.
const CONCURRENCY = [1, 16, 64] as const;
const USER = { username: "bench-introspect", password: "Bench-introspect-pass-1!" };

/**
 * 5. The alternative: validating every token by asking Keycloak's
 * introspection endpoint (seed 001's approach), on this machine, in this
 * run: POST token/introspect over HTTP/1.1 with the backend client's
 * credentials, against Gatehouse's VerifyToken (Connect JSON over HTTP/1.1:
 * the same kind of call) and Check (gRPC), warm.
 */
export const keycloakIntrospection: Benchmark = {
  id: "keycloak-introspection",
  title: "Against Keycloak's token introspection endpoint (seed 001's approach)",
  async run(context) {
    return withCleanup(async (defer) => {
      const keycloak = new BenchKeycloak();
      await keycloak.start(context.log);
      defer(() => keycloak.stop(context.log));
      await keycloak.ensureUser({
        username: USER.username,
        email: `${USER.username}@example.bench`,
        firstName: "Bench",
        lastName: "Introspect",
        password: USER.password,
      });
      const keycloakPid = await keycloakJavaPid();

      const deployment = await deploy(context, "keycloak-introspection");
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const seeded = await seedAccess(server.url);
      const verifyBody = Buffer.from(
        JSON.stringify({
          token: seeded.tokens.accessToken,
          serviceId: seeded.serviceId,
          requiredRole: "viewer",
        }),
      );
      const check = checkFrame(seeded.tokens.accessToken, seeded.serviceSlug);
      await expectCheckVerdict(server.url, check, 0, "Check");

      const introspectionHeaders = {
        "content-type": "application/x-www-form-urlencoded",
        authorization: keycloak.basicAuth(),
      };
      const introspect = async (token: string): Promise<boolean> => {
        const response = await fetch(`${keycloak.url}${keycloak.introspectionPath()}`, {
          method: "POST",
          headers: introspectionHeaders,
          body: new URLSearchParams({ token }),
        });
        const body = (await response.json()) as { active?: boolean };
        return response.ok && body.active === true;
      };
      // Keycloak's access tokens live 5 minutes: each run gets a fresh one, checked before and after.
      const introspectionRun =
        (concurrency: number, durationS: number, warmupS: number) => async (): Promise<LoadRun> => {
          const token = await keycloak.passwordToken(USER.username, USER.password);
          if (!(await introspect(token)))
            throw new Error("Keycloak does not introspect its own fresh token as active");
          const run = await runH2load({
            url: keycloak.url,
            path: keycloak.introspectionPath(),
            body: Buffer.from(new URLSearchParams({ token }).toString()),
            headers: introspectionHeaders,
            connections: concurrency,
            streams: 1,
            h1: true,
            durationS,
            warmupS,
            serverPids: keycloakPid === undefined ? [] : [keycloakPid],
          });
          if (!(await introspect(token)))
            throw new Error("the token stopped introspecting as active during the run");
          return run;
        };

      // The physical limits, measured in the same run: node:http2 answering constant bytes (beside
      // Check), and jose.jwtVerify alone behind node:http (beside VerifyToken).
      const bareH2 = await startReferenceServer("bench/reference/bare-h2-server.ts");
      defer(() => bareH2.stop());
      const joseVerify = await startReferenceServer("bench/reference/jose-verify-server.ts", {
        JWKS_URL: `${server.url}/.well-known/jwks.json`,
      });
      defer(() => joseVerify.stop());
      const joseBody = Buffer.from(JSON.stringify({ token: seeded.tokens.accessToken }));
      const joseAnswer = await fetch(joseVerify.url, { method: "POST", body: joseBody });
      if ((await joseAnswer.text()) !== '{"valid":true}')
        throw new Error("the jose server rejects Gatehouse's token");

      // Another introspection server, for scale: panva's oidc-provider (Node, opaque tokens in memory).
      const oidcProvider = await startOidcProvider(context.log);
      defer(() => oidcProvider.stop());
      const oidcProviderHeaders = {
        "content-type": "application/x-www-form-urlencoded",
        authorization: oidcProvider.basicAuth,
      };
      const oidcProviderBody = Buffer.from(new URLSearchParams({ token: oidcProvider.token }).toString());
      const oidcAnswer = await fetch(`${oidcProvider.url}/token/introspection`, {
        method: "POST",
        headers: oidcProviderHeaders,
        body: oidcProviderBody,
      });
      if (((await oidcAnswer.json()) as { active?: boolean }).active !== true)
        throw new Error("oidc-provider does not introspect its own token as active");

      // Until Keycloak's throughput stops rising (its JIT), measured, not assumed: the published
      // figures came after a 5-15 s warm-up, on a JVM still getting faster.
      context.log("keycloak-introspection: warming Keycloak until its throughput stops rising");
      const warmStepS = context.quick ? 5 : 10;
      const warmUp = await warmUntilPlateau(
        introspectionRun(16, warmStepS, 1),
        // ≥ 20,000 introspections before a plateau counts: HotSpot compiles a method after ~10,000 calls.
        { maxSteps: context.quick ? 12 : 30, minRequests: 20_000, settled: 2, tolerance: 0.05 },
        context.log,
      );

      const measurements: Measurement[] = [];
      const ratios: Ratio[] = [];
      for (const concurrency of CONCURRENCY) {
        context.log(`keycloak-introspection: c=${concurrency}`);
        const { connections, streams } = connectionsFor(concurrency);
        const common = {
          url: server.url,
          durationS: context.durationS,
          warmupS: context.warmupS,
          serverPids: [server.pid],
        };
        const reference = { durationS: context.durationS, warmupS: context.warmupS };
        const [keycloakRuns, verifyRuns, checkRuns, joseRuns, bareRuns, oidcRuns] = await interleave(
          context.rounds,
          [
            introspectionRun(concurrency, context.durationS, context.warmupS),
            () =>
              runH2load({
                ...common,
                path: VERIFY_TOKEN_PATH,
                body: verifyBody,
                headers: { "content-type": "application/json" },
                connections: concurrency,
                streams: 1,
                h1: true,
              }),
            () =>
              runH2load({
                ...common,
                path: CHECK_PATH,
                body: check,
                headers: GRPC_HEADERS,
                connections,
                streams,
              }),
            () =>
              runH2load({
                ...reference,
                url: joseVerify.url,
                path: "/",
                body: joseBody,
                headers: { "content-type": "application/json" },
                connections: concurrency,
                streams: 1,
                h1: true,
                serverPids: [joseVerify.pid],
              }),
            () =>
              runH2load({
                ...reference,
                url: bareH2.url,
                path: CHECK_PATH,
                body: check,
                headers: GRPC_HEADERS,
                connections,
                streams,
                serverPids: [bareH2.pid],
              }),
            () =>
              runH2load({
                ...reference,
                url: oidcProvider.url,
                path: "/token/introspection",
                body: oidcProviderBody,
                headers: oidcProviderHeaders,
                connections: concurrency,
                streams: 1,
                h1: true,
                serverPids: [oidcProvider.pid],
              }),
          ],
        );
        const m = {
          keycloak: combineRuns(`Keycloak introspection, HTTP/1.1 c=${concurrency}`, keycloakRuns!),
          verify: combineRuns(`Gatehouse VerifyToken, Connect JSON HTTP/1.1 c=${concurrency}`, verifyRuns!),
          check: combineRuns(`Gatehouse Check, gRPC c=${concurrency}`, checkRuns!),
          jose: combineRuns(`reference: jose.jwtVerify on node:http, HTTP/1.1 c=${concurrency}`, joseRuns!),
          bare: combineRuns(`reference: bare node:http2, constant gRPC answer c=${concurrency}`, bareRuns!),
        };
        const oidc = combineRuns(
          `reference: oidc-provider introspection, HTTP/1.1 c=${concurrency}`,
          oidcRuns!,
        );
        measurements.push(m.keycloak, oidc, m.verify, m.check, m.jose, m.bare);
        ratios.push(
          {
            label: `VerifyToken ÷ introspection c=${concurrency}`,
            value: m.verify.throughput / m.keycloak.throughput,
            definition: `Gatehouse VerifyToken (JSON) req/s ÷ Keycloak introspection req/s, c=${concurrency}; p99 ${fmt.ms(m.verify.p99Ms)} vs ${fmt.ms(m.keycloak.p99Ms)} ms`,
          },
          {
            label: `Check ÷ introspection c=${concurrency}`,
            value: m.check.throughput / m.keycloak.throughput,
            definition: `Gatehouse Check (gRPC) req/s ÷ Keycloak introspection req/s, c=${concurrency}; p99 ${fmt.ms(m.check.p99Ms)} vs ${fmt.ms(m.keycloak.p99Ms)} ms`,
          },
          {
            label: `VerifyToken ÷ introspection per server core c=${concurrency}`,
            value:
              m.verify.throughput / m.verify.serverCores / (m.keycloak.throughput / m.keycloak.serverCores),
            definition: `(VerifyToken req/s ÷ Gatehouse cores used) ÷ (introspection req/s ÷ Keycloak cores used), c=${concurrency}: ${fmt.rate(m.verify.throughput / m.verify.serverCores)} vs ${fmt.rate(m.keycloak.throughput / m.keycloak.serverCores)} req/s per core`,
          },
          {
            label: `VerifyToken ÷ oidc-provider introspection c=${concurrency}`,
            value: m.verify.throughput / oidc.throughput,
            definition: `Gatehouse VerifyToken (JSON) req/s ÷ oidc-provider introspection req/s, c=${concurrency}`,
          },
          {
            label: `Check ÷ bare node:http2 c=${concurrency}`,
            value: m.check.throughput / m.bare.throughput,
            definition: `Gatehouse Check req/s ÷ a node:http2 server answering constant bytes, c=${concurrency}: the share of Node's gRPC limit Check reaches`,
          },
          {
            label: `VerifyToken ÷ jose.jwtVerify alone c=${concurrency}`,
            value: m.verify.throughput / m.jose.throughput,
            definition: `Gatehouse VerifyToken (JSON) req/s ÷ a node:http server doing only jose.jwtVerify, c=${concurrency}`,
          },
          {
            label: `introspection p99 ÷ VerifyToken p99 c=${concurrency}`,
            value: m.keycloak.p99Ms / m.verify.p99Ms,
            definition: `Keycloak introspection p99 ÷ Gatehouse VerifyToken (JSON) p99, c=${concurrency}`,
          },
        );
      }
      return {
        id: "keycloak-introspection",
        title: keycloakIntrospection.title,
        generator:
          "h2load with `--h1` (one connection per concurrent request) for the introspection endpoint and for VerifyToken over Connect JSON; h2load gRPC for Check",
        setup: [
          `Keycloak 26.7.3 (Java 17, heap -Xms256m -Xmx768m, dev-file H2, --cache=local) started by keycloak/keycloak.sh as the benchmarks' own instance on ${keycloak.url}; warmed with ${warmStepS} s introspection runs at c=16 until two in a row stayed within 5 % of the best after at least 20,000 introspections (${warmUp.steps.length} runs, plateau ${warmUp.reached ? "reached" : "NOT reached: its figures are a cold JVM's"})`,
          "oidc-provider 9.13.3 (bench/oidc-provider/, its own package): POST /token/introspection with client_secret_basic, an opaque client-credentials token in its in-memory adapter, one Node process",
          "references (the physical limits, same run, same generator): bench/reference/bare-h2-server.ts (node:http2, a constant gRPC answer, nothing read) beside Check; bench/reference/jose-verify-server.ts (node:http, JSON body, jose.jwtVerify with the issuer's keys held locally, constant answer) beside VerifyToken",
          "introspection: POST …/token/introspect, HTTP Basic with the gatehouse-backend client, a password-grant access token of a realm user (checked `active: true` before and after each run)",
          "Gatehouse: PostgreSQL + Redis, one process, its own tokens (built-in provider), warm caches; Keycloak is multi-threaded on both cores, Gatehouse is one event loop",
        ],
        measurements,
        ratios,
        targets: [],
        tables: [
          {
            title: "Keycloak warm-up (introspection, c=16): throughput per run until it stops rising",
            columns: ["run", "req/s", "Keycloak cores", "server CPU µs/req"],
            rows: warmUp.steps.map((step) => [
              String(step.step),
              fmt.rate(step.throughput),
              fmt.cores(step.serverCores),
              step.throughput > 0 ? ((step.serverCores / step.throughput) * 1e6).toFixed(0) : "–",
            ]),
          },
        ],
        notes: [
          "The CPU split lists the Keycloak JVM as the server in its rows: Keycloak spreads over both cores, Gatehouse is one event loop (plus GC and libuv threads), so the per-core ratio is the fairer comparison of cost.",
        ],
      };
    });
  },
};
