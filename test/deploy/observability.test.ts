import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { authorizationClient, grpc, unary } from "../support/grpc-stubs.ts";
import type { Manifest } from "../support/kustomize.ts";
import { schemaProblems, unknownFieldProblems } from "../support/manifest-check.ts";
import { createTestPki, type TestPki } from "../support/test-certificates.ts";

const ROOT = resolve(import.meta.dirname, "../..");
// Grafana substitutes it; a plain string on purpose.
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");
const rules = parse(
  readFileSync(resolve(ROOT, "deploy/observability/prometheus-rules.yaml"), "utf8"),
) as Manifest & {
  spec: { groups: Array<{ name: string; rules: Array<{ record?: string; alert?: string; expr: string }> }> };
};
const dashboard = JSON.parse(
  readFileSync(resolve(ROOT, "deploy/observability/grafana-dashboard.json"), "utf8"),
);

/** Every PromQL expression, with where it comes from; Grafana's interval variables replaced by a duration. */
const expressions: Array<{ where: string; expr: string }> = [
  ...rules.spec.groups.flatMap((group) =>
    group.rules.map((rule) => ({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr })),
  ),
  ...dashboard.panels.flatMap((panel: any) =>
    panel.targets.map((target: any) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: String(target.expr).replaceAll("$__rate_interval", "5m"),
    })),
  ),
];

/** Syntax errors the PromQL grammar finds (Prometheus' own, @prometheus-io/lezer-promql), as offsets. */
function syntaxErrors(expr: string): number[] {
  const errors: number[] = [];
  const cursor = parser.parse(expr).cursor();
  do if (cursor.type.isError) errors.push(cursor.from);
  while (cursor.next());
  return errors;
}

/** The metric names an expression selects. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name === "Identifier" && cursor.node.parent?.name === "VectorSelector") {
      names.push(expr.slice(cursor.from, cursor.to));
    }
  } while (cursor.next());
  return names;
}

describe("deploy/observability", () => {
  it("the PrometheusRule validates against the prometheus-operator CRD schema, unknown fields included", async () => {
    expect(await schemaProblems([rules])).toEqual([]);
    expect(unknownFieldProblems([rules])).toEqual([]);
    const alerts = rules.spec.groups
      .flatMap((group) => group.rules.map((rule) => rule.alert))
      .filter(Boolean);
    expect(alerts).toEqual(
      expect.arrayContaining([
        "GatehouseErrorRatioHigh",
        "GatehouseCheckLatencyHigh",
        "GatehouseChangeFeedDegraded",
        "GatehouseDatabaseUnreachable",
        "GatehouseCertificateExpiresSoon",
      ]),
    );
  });

  it("every PromQL expression parses", () => {
    expect(expressions.length).toBeGreaterThan(20);
    const broken = expressions.filter(({ expr }) => syntaxErrors(expr).length > 0).map(({ where }) => where);
    expect(broken).toEqual([]);
    // The check can fail: a broken expression is caught.
    expect(syntaxErrors("sum(rate(gatehouse_rpc_requests_total[5m])")).not.toEqual([]);
    expect(syntaxErrors("histogram_quantile(0.99, )")).not.toEqual([]);
  });

  it("the dashboard's panels each have an id, a place, the data source variable and at least one query", () => {
    const ids = dashboard.panels.map((panel: any) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos, panel.title).toMatchObject({ w: expect.any(Number), h: expect.any(Number) });
      expect(panel.datasource.uid, panel.title).toBe(DATASOURCE_VARIABLE);
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    }
    expect(dashboard.templating.list.map((variable: any) => variable.name)).toEqual([
      "datasource",
      "namespace",
    ]);
  });

  describe("against a real server's /metrics", () => {
    let pki: TestPki;
    let server: TestGatehouse;
    let exported: Set<string>;
    beforeAll(async () => {
      pki = await createTestPki();
      // PostgreSQL (pool gauges), TLS (certificate expiry), the management port (where Prometheus scrapes).
      server = await startTestGatehouse({
        backend: "postgres",
        env: { TLS_CERT_FILE: pki.serverCert, TLS_KEY_FILE: pki.serverKey, MANAGEMENT_PORT: "0" },
      });
      const credentials = grpc.credentials.createSsl(readFileSync(pki.caCert));
      const authz = authorizationClient(server.url, credentials);
      try {
        // A denied Check: a decision, an RPC series with its histogram.
        await unary(authz, "check", {
          attributes: { request: { http: { method: "GET", path: "/", headers: {} } } },
        });
      } finally {
        authz.close();
      }
      const text = await (await fetch(`${server.gatehouse.management!.url}/metrics`)).text();
      exported = new Set(
        text
          .split("\n")
          .filter((line) => line !== "" && !line.startsWith("#"))
          .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
      );
    });
    afterAll(async () => {
      await server?.stop();
      await pki?.remove();
    });

    it("every metric the rules and the dashboard query is one Gatehouse exports (or a rule records, or Prometheus' up)", () => {
      const recorded = new Set(rules.spec.groups.flatMap((group) => group.rules.map((rule) => rule.record)));
      const unknown = expressions.flatMap(({ where, expr }) =>
        metricNames(expr)
          .filter((name) => !exported.has(name) && !recorded.has(name) && name !== "up")
          .map((name) => `${where}: ${name}`),
      );
      expect(unknown).toEqual([]);
      // The comparison can fail: a name Gatehouse does not export is not in the scrape.
      expect(exported.has("gatehouse_rpc_requests_total")).toBe(true);
      expect(exported.has("gatehouse_rpc_errors_total")).toBe(false);
    });
  });
});
