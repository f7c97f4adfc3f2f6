import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/config.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { configMapHash, kustomize, type Manifest } from "../support/kustomize.ts";
import { schemaProblems, unknownFieldProblems } from "../support/manifest-check.ts";

/**
 * deploy/kubernetes, rendered as kubectl kustomize renders it (test/support/kustomize.ts; kept
 * identical by scripts/kustomize-check.sh) and checked without a cluster: against the API's
 * schemas, and against what Gatehouse itself reads and serves.
 */

const ROOT = resolve(import.meta.dirname, "../..");
const KUBERNETES = resolve(ROOT, "deploy/kubernetes");
const INSTALLABLE = [
  ...readdirSync(resolve(KUBERNETES, "overlays")).map((name) => `overlays/${name}`),
  ...readdirSync(resolve(KUBERNETES, "examples")).map((name) => `examples/${name}`),
];
const render = (dir: string) => kustomize(resolve(KUBERNETES, dir));

// Untyped YAML, walked by path.
type Json = any;
const find = (manifests: Manifest[], kind: string, name?: string): Json => {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  expect(found, `${kind}/${name ?? "*"}`).toHaveLength(1);
  return found[0];
};
const gatehouseContainer = (deployment: Json): Json =>
  deployment.spec.template.spec.containers.find((c: Json) => c.name === "gatehouse");
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe("Kubernetes manifests: schemas", () => {
  it("has the overlays and the example the README installs", () => {
    expect(INSTALLABLE.sort()).toEqual(["examples/billing", "overlays/embedded-dev", "overlays/production"]);
  });

  it.each(INSTALLABLE)(
    "%s: every rendered manifest validates against its schema, unknown fields refused",
    async (dir) => {
      const manifests = render(dir);
      expect(manifests.length).toBeGreaterThan(3);
      expect(await schemaProblems(manifests)).toEqual([]);
      expect(unknownFieldProblems(manifests)).toEqual([]);
    },
  );

  it("fails a misspelt field, a wrong type and a misspelt ServiceMonitor field", async () => {
    const misspelt = render("overlays/production");
    const container = gatehouseContainer(find(misspelt, "Deployment"));
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(unknownFieldProblems(misspelt)).toEqual([
      expect.stringMatching(/Deployment\/gatehouse.*"readinesProbe"/),
    ]);

    const wrongType = render("overlays/production");
    gatehouseContainer(find(wrongType, "Deployment")).ports[0].containerPort = "8080";
    expect(await schemaProblems(wrongType)).toEqual([expect.stringMatching(/containerPort must be integer/)]);

    const monitor = render("overlays/production");
    find(monitor, "ServiceMonitor").spec.endpoints[0].intervall = "30s";
    expect(unknownFieldProblems(monitor)).toEqual([
      expect.stringMatching(/ServiceMonitor\/gatehouse.*"intervall"/),
    ]);
  });

  it("the renderer refuses what it does not implement rather than rendering it differently from kustomize", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-kustomize-"));
    try {
      writeFileSync(join(dir, "kustomization.yaml"), "resources: []\ncommonLabels: { team: identity }\n");
      expect(() => kustomize(dir)).toThrow(/kustomization field commonLabels is not supported/);
      writeFileSync(
        join(dir, "kustomization.yaml"),
        "patches:\n  - path: p.yaml\n    target: { kind: Deployment }\n",
      );
      expect(() => kustomize(dir)).toThrow(/patches: target unsupported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("suffixes generated ConfigMaps with kustomize's hash, and renames the references to them", () => {
    const manifests = render("overlays/production");
    const configMap = find(manifests, "ConfigMap");
    expect(configMap.metadata.name).toBe(`gatehouse-config-${configMapHash(configMap)}`);
    expect(gatehouseContainer(find(manifests, "Deployment")).envFrom[0].configMapRef.name).toBe(
      configMap.metadata.name,
    );
    // What kubectl kustomize v5.5 named this ConfigMap (generated from these literals and a file
    // with this content): HTML characters, a control character and non-ASCII as Go escapes them.
    const data = {
      A: "1",
      EMPTY: "",
      "sample.txt": 'line one\n<b>&amp;</b> "quoted" \\ back\tslash \u2603 \x01\n',
    };
    const sample = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "sample" }, data } as Manifest;
    expect(`sample-${configMapHash(sample)}`).toBe("sample-hcdm5dfkkt");
  });
});

describe.each(["overlays/production", "overlays/embedded-dev"])("the Gatehouse Deployment (%s)", (dir) => {
  const manifests = render(dir);
  const deployment = find(manifests, "Deployment", "gatehouse");
  const pod = deployment.spec.template.spec;
  const container = gatehouseContainer(deployment);
  const configMap = find(manifests, "ConfigMap");
  const podLabels = deployment.spec.template.metadata.labels;

  it("runs as non-root on a read-only root filesystem, with an emptyDir for /tmp", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    const tmp = container.volumeMounts.find((m: Json) => m.mountPath === "/tmp");
    expect(pod.volumes.find((v: Json) => v.name === tmp.name).emptyDir).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("has resource requests and limits, and the three probes", () => {
    for (const resource of ["cpu", "memory"]) {
      expect(container.resources.requests[resource]).toBeDefined();
      expect(container.resources.limits[resource]).toBeDefined();
    }
    expect(container.startupProbe.httpGet.path).toBe("/healthz");
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    // On the management port (MANAGEMENT_PORT), where the ops routes are served once it is set.
    const management = container.ports.find(
      (p: Json) => p.containerPort === Number(configMap.data.MANAGEMENT_PORT),
    );
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      expect(container[probe].httpGet.port, probe).toBe(management.name);
    }
  });

  it("gives SIGTERM's drain its time: terminationGracePeriodSeconds > preStop sleep + SHUTDOWN_GRACE_MS", () => {
    const command: string[] = container.lifecycle.preStop.exec.command;
    expect(command[0]).toBe("sleep");
    const preStopSeconds = Number(command[1]);
    const graceSeconds = Number(configMap.data.SHUTDOWN_GRACE_MS) / 1000;
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + graceSeconds);
  });

  it("spreads replicas over nodes, and a PodDisruptionBudget covers them", () => {
    const keys = pod.topologySpreadConstraints.map((c: Json) => c.topologyKey);
    expect(keys).toContain("kubernetes.io/hostname");
    for (const constraint of pod.topologySpreadConstraints) {
      expect(matches(constraint.labelSelector.matchLabels, podLabels)).toBe(true);
    }
    const budget = find(manifests, "PodDisruptionBudget");
    expect(matches(budget.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(budget.spec.maxUnavailable ?? budget.spec.minAvailable).toBeDefined();
  });

  it("takes plain settings from the ConfigMap and secrets only by reference", () => {
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    const secretNames = [
      "KEY_ENCRYPTION_KEY",
      "VAULT_KEYS",
      "KEYCLOAK_CLIENT_SECRET",
      "DATABASE_URL",
      "REDIS_URL",
    ];
    for (const variable of container.env) {
      expect(variable.value, `${variable.name} is set inline`).toBeUndefined();
      expect(variable.valueFrom.secretKeyRef.name).toBe("gatehouse-secrets");
    }
    for (const name of secretNames) expect(configMap.data[name], `${name} in the ConfigMap`).toBeUndefined();
    const referenced = container.env.map((v: Json) => v.name);
    expect(referenced).toEqual(
      expect.arrayContaining(["KEY_ENCRYPTION_KEY", "VAULT_KEYS", "KEYCLOAK_CLIENT_SECRET"]),
    );
  });

  it("is served by a Service speaking h2c, scraped by the ServiceMonitor, reached only through the NetworkPolicy's peers", () => {
    const service = find(manifests, "Service", "gatehouse");
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    const [port, managementPort] = service.spec.ports;
    expect(port.appProtocol).toBe("kubernetes.io/h2c");
    const containerPort = container.ports.find((p: Json) => p.name === port.targetPort);
    expect(containerPort.containerPort).toBe(Number(configMap.data.PORT));
    const managementContainerPort = container.ports.find((p: Json) => p.name === managementPort.targetPort);
    expect(managementContainerPort.containerPort).toBe(Number(configMap.data.MANAGEMENT_PORT));

    const monitor = find(manifests, "ServiceMonitor");
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.endpoints.map((e: Json) => [e.port, e.path])).toEqual([
      [managementPort.name, "/metrics"],
    ]);

    const policy = find(manifests, "NetworkPolicy");
    expect(matches(policy.spec.podSelector.matchLabels, podLabels)).toBe(true);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    const [api, monitoring] = policy.spec.ingress;
    expect(policy.spec.ingress).toHaveLength(2);
    for (const rule of policy.spec.ingress) expect(rule.from.length).toBeGreaterThan(0);
    expect(api.ports).toEqual([{ protocol: "TCP", port: containerPort.containerPort }]);
    // Prometheus reaches the metrics, not the API.
    expect(monitoring.ports).toEqual([{ protocol: "TCP", port: managementContainerPort.containerPort }]);
    expect(monitoring.from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ]);
    // The example workload's pods carry the label that admits sidecars.
    const sidecarPeer = policy.spec.ingress[0].from.find((peer: Json) => peer.podSelector !== undefined);
    const billing = find(render("examples/billing"), "Deployment", "billing");
    expect(matches(sidecarPeer.podSelector.matchLabels, billing.spec.template.metadata.labels)).toBe(true);
  });

  it("names only variables Gatehouse reads and documents, and a configuration it accepts", () => {
    const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## The API"));
    const names = [...Object.keys(configMap.data), ...container.env.map((v: Json) => v.name)];
    const undocumented = names.filter((name) => !table.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
    const source = readFileSync(resolve(ROOT, "src/config/config.ts"), "utf8");
    const read = new Set([...source.matchAll(/read\.\w+\(\s*"([A-Z][A-Z0-9_]+)"/g)].map((match) => match[1]));
    expect(names.filter((name) => !read.has(name))).toEqual([]);
    // The ConfigMap plus stand-ins for the secrets the overlay requires.
    const secrets: Record<string, string> = {};
    for (const variable of container.env) {
      if (variable.valueFrom.secretKeyRef.optional === true) continue;
      secrets[variable.name] = {
        DATABASE_URL: "postgres://gatehouse@db.example:5432/gatehouse",
        REDIS_URL: "redis://redis.example:6379",
        KEY_ENCRYPTION_KEY: "ab".repeat(32),
      }[variable.name as string]!;
    }
    const config = loadConfig({ ...configMap.data, ...secrets });
    expect(config.server.port).toBe(Number(configMap.data.PORT));
  });
});

describe("overlays", () => {
  it("production: three replicas over PostgreSQL and Redis, their URLs and the key encryption key required", () => {
    const deployment = find(render("overlays/production"), "Deployment");
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    const env = Object.fromEntries(
      gatehouseContainer(deployment).env.map((v: Json) => [v.name, v.valueFrom.secretKeyRef]),
    );
    for (const name of ["DATABASE_URL", "REDIS_URL", "KEY_ENCRYPTION_KEY"])
      expect(env[name].optional ?? false).toBe(false);
    const { version } = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8"));
    expect(gatehouseContainer(deployment).image).toBe(`registry.example.com/gatehouse:${version}`);
  });

  it("embedded-dev: one replica, recreated, with DATA_DIR on a PersistentVolumeClaim", () => {
    const manifests = render("overlays/embedded-dev");
    const deployment = find(manifests, "Deployment");
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const dataDir = find(manifests, "ConfigMap").data.DATA_DIR;
    const mount = gatehouseContainer(deployment).volumeMounts.find((m: Json) => m.mountPath === dataDir);
    const volume = deployment.spec.template.spec.volumes.find((v: Json) => v.name === mount.name);
    expect(volume.persistentVolumeClaim.claimName).toBe(
      find(manifests, "PersistentVolumeClaim").metadata.name,
    );
    const env = gatehouseContainer(deployment).env.map((v: Json) => v.name);
    expect(env).not.toContain("DATABASE_URL");
  });
});

describe("the example workload behind an Envoy sidecar", () => {
  it("mounts the sidecar configuration where Envoy reads it, on the ports the Service and the app use", () => {
    const manifests = render("examples/billing");
    const deployment = find(manifests, "Deployment", "billing");
    const pod = deployment.spec.template.spec;
    const envoy = pod.containers.find((c: Json) => c.name === "envoy");
    const app = pod.containers.find((c: Json) => c.name === "app");
    const configPath: string = envoy.args[envoy.args.indexOf("-c") + 1];
    const mount = envoy.volumeMounts.find((m: Json) => configPath.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes.find((v: Json) => v.name === mount.name);
    const configMap = find(manifests, "ConfigMap", volume.configMap.name);
    const bootstrap = parse(configMap.data[configPath.slice(mount.mountPath.length + 1)]);
    expect(bootstrap.static_resources.listeners[0].address.socket_address.port_value).toBe(
      envoy.ports.find((p: Json) => p.name === find(manifests, "Service").spec.ports[0].targetPort)
        .containerPort,
    );
    const upstream = bootstrap.static_resources.clusters.find((c: Json) => c.name === "upstream");
    const upstreamAddress =
      upstream.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    expect(upstreamAddress).toEqual({ address: "127.0.0.1", port_value: app.ports[0].containerPort });
    const gatehouse = bootstrap.static_resources.clusters.find((c: Json) => c.name === "gatehouse");
    const gatehouseAddress =
      gatehouse.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    const service = find(render("overlays/production"), "Service", "gatehouse");
    expect(gatehouseAddress).toEqual({
      address: `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`,
      port_value: service.spec.ports[0].port,
    });
    // Only the sidecar's port is reachable from other pods.
    expect(find(manifests, "NetworkPolicy").spec.ingress).toEqual([
      {
        ports: [
          {
            protocol: "TCP",
            port: bootstrap.static_resources.listeners[0].address.socket_address.port_value,
          },
        ],
      },
    ]);
  });
});

describe("the probe and scrape paths are served", () => {
  let server: TestGatehouse;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers 200 on every probe path of the Deployment and on the ServiceMonitor's path", async () => {
    const manifests = render("overlays/production");
    const container = gatehouseContainer(find(manifests, "Deployment"));
    const paths = [
      container.startupProbe.httpGet.path,
      container.livenessProbe.httpGet.path,
      container.readinessProbe.httpGet.path,
      ...find(manifests, "ServiceMonitor").spec.endpoints.map((e: Json) => e.path),
    ];
    for (const path of new Set(paths)) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
    }
  });
});
