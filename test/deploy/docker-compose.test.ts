import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/** docker-compose.yml (no Docker engine here: its shape is checked, not run). */

const ROOT = resolve(import.meta.dirname, "../..");
// Untyped YAML, walked by path.
type Json = any;
const compose: Json = parse(readFileSync(resolve(ROOT, "docker-compose.yml"), "utf8"));
const services = Object.entries(compose.services as Record<string, Json>);

/** Images whose publishers tag releases with one number only, so name:N is as pinned as it gets. */
const WHOLE_NUMBER_TAGS = new Set(["mendhak/http-https-echo"]);

describe("docker-compose.yml", () => {
  it.each(services)("%s: a pinned image version (no latest, no floating major)", (_name, service) => {
    expect(service.image, "every service names its image, built ones too").toBeTypeOf("string");
    const image: string = service.image;
    if (image.includes("@sha256:")) return;
    const colon = image.lastIndexOf(":");
    expect(colon, `${image} has a tag`).toBeGreaterThan(image.lastIndexOf("/"));
    const [name, tag] = [image.slice(0, colon), image.slice(colon + 1)];
    expect(tag).not.toMatch(/latest/);
    expect(tag).toMatch(WHOLE_NUMBER_TAGS.has(name) ? /^\d+$/ : /^v?\d+\.\d+(\.\d+)?$/);
  });

  it.each(services)("%s: a health check and a restart policy", (_name, service) => {
    expect(service.healthcheck?.test?.length).toBeGreaterThan(0);
    expect(service.healthcheck.disable).not.toBe(true);
    expect(service.healthcheck.interval).toBeDefined();
    expect(["always", "unless-stopped", "on-failure"]).toContain(service.restart);
  });

  it.each(services)("%s: waits for the services it depends on to be healthy", (_name, service) => {
    const dependsOn = service.depends_on ?? {};
    expect(Array.isArray(dependsOn), "the list form cannot say service_healthy").toBe(false);
    for (const [dependency, condition] of Object.entries(dependsOn as Record<string, Json>)) {
      expect(compose.services[dependency], dependency).toBeDefined();
      expect(condition.condition, dependency).toBe("service_healthy");
    }
  });

  it("starts Gatehouse after PostgreSQL and Redis, and Envoy after Gatehouse and its upstream", () => {
    expect(Object.keys(compose.services.gatehouse.depends_on)).toEqual(
      expect.arrayContaining(["postgres", "redis"]),
    );
    expect(Object.keys(compose.services.envoy.depends_on)).toEqual(
      expect.arrayContaining(["gatehouse", "demo-upstream"]),
    );
    expect(compose.services.envoy.volumes).toContain("./deploy/envoy/envoy.yaml:/etc/envoy/envoy.yaml:ro");
  });

  it("with IDENTITY_PROVIDER=keycloak: Gatehouse reaches Keycloak in the network and expects its public issuer", () => {
    const gatehouse = compose.services.gatehouse.environment;
    const keycloak = compose.services.keycloak;
    const command: string[] = keycloak.command;
    expect(
      command.some((option) => option.startsWith("--hostname")),
      "hostname set through KC_ env",
    ).toBe(false);
    const port = /--http-port=(\d+)/.exec(command.join(" "))?.[1];
    expect(new URL(gatehouse.KEYCLOAK_URL).host).toBe(`keycloak:${port}`);
    expect(keycloak.environment.KC_HOSTNAME_BACKCHANNEL_DYNAMIC).toBe("true");
    expect(new URL(keycloak.environment.KC_HOSTNAME).port).toBe(port);
    expect(keycloak.ports).toContain(`${port}:${port}`);
    expect(gatehouse.KEYCLOAK_ISSUER).toBe(
      `${keycloak.environment.KC_HOSTNAME}/realms/${gatehouse.KEYCLOAK_REALM}`,
    );
  });

  it("points the realm's SMTP server at the mail catcher, not the Keycloak container's loopback", () => {
    const realm = readFileSync(resolve(ROOT, "keycloak/realm-gatehouse.json"), "utf8");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Keycloak's import placeholder, literally
    expect(JSON.parse(realm).smtpServer.host).toBe("${KEYCLOAK_SMTP_HOST:127.0.0.1}");
    const keycloak = compose.services.keycloak.environment;
    expect(keycloak.KEYCLOAK_SMTP_HOST).toBe("mailpit");
    const mailpit = new URL(compose.services.gatehouse.environment.SMTP_URL);
    expect(`${keycloak.KEYCLOAK_SMTP_HOST}:${keycloak.KEYCLOAK_SMTP_PORT}`).toBe(mailpit.host);
  });

  it("starts Gatehouse, in both provider modes, after Keycloak is healthy: a health check on Keycloak's readiness", () => {
    expect(compose.services.gatehouse.depends_on.keycloak).toEqual({ condition: "service_healthy" });
    const keycloak = compose.services.keycloak;
    expect(keycloak.command).toContain("--health-enabled=true");
    const check = keycloak.healthcheck.test.join(" ");
    // Keycloak 26 serves /health/ready on its management port, 9000, not on --http-port.
    expect(check).toContain("/dev/tcp/127.0.0.1/9000");
    expect(check).toContain("GET /health/ready");
    expect(check).toContain('"status": *"UP"');
    // A first start builds and imports the realm: the start period covers it.
    expect(Number.parseInt(keycloak.healthcheck.start_period, 10)).toBeGreaterThanOrEqual(60);
  });

  it("starts Keycloak after the mail catcher its realm sends through, and points its back-channel logout at Gatehouse", () => {
    const keycloak = compose.services.keycloak;
    expect(keycloak.depends_on.mailpit).toEqual({ condition: "service_healthy" });
    const logoutUrl = new URL(keycloak.environment.GATEHOUSE_BACKCHANNEL_LOGOUT_URL);
    expect(logoutUrl.host).toBe(`gatehouse:${compose.services.gatehouse.ports[0].split(":")[1]}`);
    expect(logoutUrl.pathname).toBe("/oidc/backchannel-logout");
    const realm = readFileSync(resolve(ROOT, "keycloak/realm-gatehouse.json"), "utf8");
    expect(realm).toContain("${GATEHOUSE_BACKCHANNEL_LOGOUT_URL:");
  });

  it("tags the image it builds with the package's version", () => {
    const { version } = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8"));
    expect(compose.services.gatehouse.build).toBe(".");
    expect(compose.services.gatehouse.image).toBe(`gatehouse:${version}`);
  });
});
