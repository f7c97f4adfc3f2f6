import type { Metrics } from "../observability/metrics.ts";
import type { HttpHandler } from "./http-handler.ts";
import type { DatabaseReadiness } from "./readiness.ts";

export interface OpsRouteDeps {
  readonly readiness: DatabaseReadiness;
  /** True once shutdown has begun: the replica stops taking new traffic. */
  readonly stopping: () => boolean;
  readonly coordination: { readonly kind: string; isHealthy(): boolean };
  readonly metrics: Metrics;
}

const json =
  (status: number, body: unknown): HttpHandler =>
  (_request, response) => {
    response.statusCode = status;
    response.setHeader("content-type", "application/json");
    response.setHeader("cache-control", "no-store");
    response.end(JSON.stringify(body));
  };

/** `/healthz` (liveness), `/readyz` (readiness: the database answers) and `/metrics` (Prometheus). */
export function opsRoutes(deps: OpsRouteDeps): Map<string, HttpHandler> {
  const { readiness, metrics } = deps;
  return new Map<string, HttpHandler>([
    ["/healthz", json(200, { status: "ok" })],
    [
      "/readyz",
      (request, response) => {
        void readiness.check().then((reachable) => {
          const ready = reachable && !deps.stopping();
          json(ready ? 200 : 503, {
            status: ready ? "ready" : "not ready",
            database: reachable ? "ok" : "unreachable",
            coordination: { kind: deps.coordination.kind, healthy: deps.coordination.isHealthy() },
          })(request, response);
        });
      },
    ],
    [
      "/metrics",
      (_request, response) => {
        void metrics.render().then((text) => {
          response.setHeader("content-type", metrics.registry.contentType);
          response.end(text);
        });
      },
    ],
  ]);
}
