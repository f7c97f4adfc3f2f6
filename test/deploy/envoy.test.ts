import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/config.ts";
import { ENVOY_BOOTSTRAP, type EnvoyProtos, loadEnvoyProtos } from "../support/envoy-protos.ts";

/**
 * The Envoy configurations we ship parse into envoy.config.bootstrap.v3.Bootstrap with Envoy's
 * own protos (unknown or misspelt fields fail, inside typed_config too), and say what the README
 * says: ext_authz over HTTP/2, failing closed, with a timeout, a service on every checked route,
 * and the client's identity headers stripped on every route before ext_authz sets its own.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const CONFIGS = {
  "deploy/envoy/envoy.yaml": resolve(ROOT, "deploy/envoy/envoy.yaml"),
  "deploy/kubernetes/examples/billing/envoy.yaml": resolve(
    ROOT,
    "deploy/kubernetes/examples/billing/envoy.yaml",
  ),
};
// Untyped YAML, walked by path.
type Json = any;
const read = (path: string): Json => parse(readFileSync(path, "utf8"));

const manager = (config: Json): Json => {
  const filter = config.static_resources.listeners[0].filter_chains[0].filters[0];
  expect(filter.name).toBe("envoy.filters.network.http_connection_manager");
  return filter.typed_config;
};
const httpFilter = (config: Json, name: string): Json =>
  manager(config).http_filters.find((f: Json) => f.name === name)?.typed_config;

let protos: EnvoyProtos;
beforeAll(() => {
  protos = loadEnvoyProtos();
});

describe.each(Object.entries(CONFIGS))("%s", (_name, path) => {
  it("parses into envoy.config.bootstrap.v3.Bootstrap with Envoy's protos", () => {
    const bytes = protos.parse(ENVOY_BOOTSTRAP, read(path));
    expect(bytes.length).toBeGreaterThan(1000);
  });

  it("fails on a misspelt field, at the top, inside a typed_config Any and inside a per-route Any", () => {
    const misspell = (mutate: (config: Json) => void) => {
      const config = read(path);
      mutate(config);
      return () => protos.parse(ENVOY_BOOTSTRAP, config);
    };
    expect(
      misspell((c) => {
        c.static_resources.clusters[0].conect_timeout = c.static_resources.clusters[0].connect_timeout;
        delete c.static_resources.clusters[0].connect_timeout;
      }),
    ).toThrow(/clusters\[0\]\.conect_timeout: unknown field of envoy\.config\.cluster\.v3\.Cluster/);
    expect(
      misspell((c) => {
        const extAuthz = httpFilter(c, "envoy.filters.http.ext_authz");
        extAuthz.failure_mode_alow = extAuthz.failure_mode_allow;
        delete extAuthz.failure_mode_allow;
      }),
    ).toThrow(
      /failure_mode_alow: unknown field of envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuthz/,
    );
    expect(
      misspell((c) => {
        const route = manager(c).route_config.virtual_hosts[0].routes[1];
        route.typed_per_filter_config["envoy.filters.http.ext_authz"].check_settings.context_extension = {};
      }),
    ).toThrow(
      /context_extension: unknown field of envoy\.extensions\.filters\.http\.ext_authz\.v3\.CheckSettings/,
    );
    expect(
      misspell((c) => {
        httpFilter(c, "envoy.filters.http.ext_authz")["@type"] += "s";
      }),
    ).toThrow(/unknown type envoy\.extensions\.filters\.http\.ext_authz\.v3\.ExtAuthzs/);
    expect(
      misspell((c) => {
        c.static_resources.clusters[0].connect_timeout = "1 second";
      }),
    ).toThrow(/connect_timeout: expected a duration/);
  });

  it("calls Gatehouse over HTTP/2, fails closed, with a timeout", () => {
    const config = read(path);
    const extAuthz = httpFilter(config, "envoy.filters.http.ext_authz");
    expect(extAuthz.failure_mode_allow).toBe(false);
    expect(extAuthz.transport_api_version).toBe("V3");
    expect(extAuthz.grpc_service.timeout).toMatch(/^\d+(\.\d+)?s$/);
    const cluster = config.static_resources.clusters.find(
      (c: Json) => c.name === extAuthz.grpc_service.envoy_grpc.cluster_name,
    );
    const options =
      cluster.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
    expect(options.explicit_http_config).toEqual({ http2_protocol_options: {} });
    expect(
      cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value,
    ).toBe(8080);
  });

  it("names a service on every route ext_authz checks", () => {
    for (const route of manager(read(path)).route_config.virtual_hosts.flatMap((v: Json) => v.routes)) {
      const perRoute = route.typed_per_filter_config?.["envoy.filters.http.ext_authz"];
      if (perRoute?.disabled === true) continue;
      expect(perRoute.check_settings.context_extensions.service).toBeTruthy();
    }
  });

  it("strips the client's x-gatehouse-* headers on every route, before ext_authz, without removing ext_authz's", () => {
    const config = read(path);
    const filters = manager(config).http_filters.map((f: Json) => f.name);
    expect(filters).toEqual([
      "envoy.filters.http.header_mutation",
      "envoy.filters.http.ext_authz",
      "envoy.filters.http.router",
    ]);
    const removed = httpFilter(config, "envoy.filters.http.header_mutation").mutations.request_mutations.map(
      (m: Json) => m.remove,
    );
    const { hostServices: _, ...headers } = loadConfig({}).envoy;
    expect(removed.sort()).toEqual(Object.values(headers).sort());
    // The filter applies to every route: none turns it off.
    const routeConfig = manager(config).route_config;
    const routes = routeConfig.virtual_hosts.flatMap((v: Json) => v.routes);
    for (const route of routes) {
      expect(route.typed_per_filter_config?.["envoy.filters.http.header_mutation"]).toBeUndefined();
    }
    // The router applies request_headers_to_remove after ext_authz: on a checked route it would
    // drop the headers Gatehouse set.
    for (const holder of [
      routeConfig,
      ...routeConfig.virtual_hosts,
      ...routes,
      ...routes.map((r: Json) => r.route),
    ]) {
      expect(holder.request_headers_to_remove ?? []).toEqual([]);
    }
  });
});

describe("the Kubernetes sidecar and deploy/envoy/envoy.yaml", () => {
  it("have the same filters, routes and Gatehouse cluster settings (only addresses differ)", () => {
    const [compose, sidecar] = Object.values(CONFIGS).map(read);
    expect(manager(sidecar).http_filters).toEqual(manager(compose).http_filters);
    expect(manager(sidecar).route_config).toEqual(manager(compose).route_config);
    const withoutAddress = (config: Json) => {
      const cluster = structuredClone(
        config.static_resources.clusters.find((c: Json) => c.name === "gatehouse"),
      );
      delete cluster.load_assignment;
      return cluster;
    };
    expect(isDeepStrictEqual(withoutAddress(sidecar), withoutAddress(compose))).toBe(true);
  });
});
