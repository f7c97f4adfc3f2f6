import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("runs on embedded defaults with an empty environment", () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(8080);
    expect(config.database).toEqual({ kind: "embedded", dataDir: "./data" });
    expect(config.redis.url).toBeUndefined();
    expect(config.identity.provider).toMatchObject({
      kind: "local",
      keyEncryptionKey: { kind: "generated", dataDir: "./data" },
    });
    expect(config.identity.sessionMaxLifetimeSeconds).toBe(30 * 86_400);
  });

  it("carries what validation proved in the type: a provider's and a database's own settings", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://db/gatehouse",
      DATABASE_POOL_SIZE: "4",
      IDENTITY_PROVIDER: "keycloak",
      KEYCLOAK_URL: "http://keycloak:8180/",
      KEYCLOAK_CLIENT_SECRET: "s3cret",
      KEYCLOAK_MAX_TOKEN_LIFETIME_SECONDS: "900",
      ACCESS_TOKEN_TTL_SECONDS: "120",
    });
    expect(config.database).toEqual({ kind: "postgres", url: "postgres://db/gatehouse", poolSize: 4 });
    expect(config.identity.provider).toMatchObject({
      kind: "keycloak",
      url: "http://keycloak:8180",
      clientSecret: "s3cret",
    });
    // Revocations must outlive the longest token the running provider issues.
    expect(config.identity.longestAccessTokenSeconds).toBe(900);
    expect(loadConfig({ ACCESS_TOKEN_TTL_SECONDS: "120" }).identity.longestAccessTokenSeconds).toBe(120);
  });

  it("requires KEY_ENCRYPTION_KEY with PostgreSQL on the built-in provider, and uses the one given", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgres://db/gatehouse" })).toThrow(/KEY_ENCRYPTION_KEY/);
    const config = loadConfig({
      DATABASE_URL: "postgres://db/gatehouse",
      KEY_ENCRYPTION_KEY: "ab".repeat(32),
    });
    expect(config.identity.provider).toMatchObject({
      kind: "local",
      keyEncryptionKey: { kind: "configured", material: "ab".repeat(32) },
    });
  });

  it("reads the hosted pages' branding: defaults, a #rrggbb accent, an http(s) or same-origin logo", () => {
    expect(loadConfig({}).branding).toEqual({
      productName: "Gatehouse",
      logoUrl: undefined,
      accentColor: "#2f54eb",
    });
    expect(
      loadConfig({
        BRANDING_PRODUCT_NAME: "Acme",
        BRANDING_LOGO_URL: "https://cdn.acme.example/logo.svg",
        BRANDING_ACCENT_COLOR: "#AA3300",
      }).branding,
    ).toEqual({ productName: "Acme", logoUrl: "https://cdn.acme.example/logo.svg", accentColor: "#aa3300" });
    expect(loadConfig({ BRANDING_LOGO_URL: "/static/logo.png" }).branding.logoUrl).toBe("/static/logo.png");
    for (const accent of ["red", "#abc", "#12345g", "rgb(1,2,3)"]) {
      expect(() => loadConfig({ BRANDING_ACCENT_COLOR: accent })).toThrow(
        /BRANDING_ACCENT_COLOR must be a colour as #rrggbb/,
      );
    }
    for (const logo of ["javascript:alert(1)", "//evil.example/logo.png", "data:image/png;base64,AA"]) {
      expect(() => loadConfig({ BRANDING_LOGO_URL: logo })).toThrow(/BRANDING_LOGO_URL/);
    }
    expect(() => loadConfig({ BRANDING_PRODUCT_NAME: "x".repeat(65) })).toThrow(/BRANDING_PRODUCT_NAME/);
  });

  it("points the mailed links at the issuer by default", () => {
    const config = loadConfig({ PORT: "9090", ISSUER: "https://id.example.com/" });
    expect(config.identity.passwordResetUrl).toBe("https://id.example.com/reset-password");
    expect(config.identity.emailVerificationUrl).toBe("https://id.example.com/verify-email");
    const explicit = loadConfig({ ISSUER: "https://id.example.com", PASSWORD_RESET_URL: "https://app/r" });
    expect(explicit.identity.passwordResetUrl).toBe("https://app/r");
  });

  it("names every bad variable at once, without echoing secrets", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "http",
        LOG_LEVEL: "chatty",
        DATABASE_URL: "mysql://user:hunter2@db/gatehouse",
        IDENTITY_PROVIDER: "keycloak",
        VAULT_KEYS: "k1:tooshort",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["PORT", "LOG_LEVEL", "DATABASE_URL", "KEYCLOAK_URL", "VAULT_KEYS"]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain("hunter2");
  });

  it("derives the passkey relying party from the issuer and refuses origins off the RP id", () => {
    expect(loadConfig({ ISSUER: "https://id.example.com/" }).identity.passkeys).toEqual({
      enabled: true,
      rpId: "id.example.com",
      rpName: "Gatehouse",
      origins: ["https://id.example.com"],
    });
    const apex = loadConfig({
      ISSUER: "https://id.example.com",
      PASSKEY_RP_ID: "example.com",
      PASSKEY_ORIGINS: "https://id.example.com,https://app.example.com:8443",
    }).identity.passkeys;
    expect(apex).toMatchObject({
      rpId: "example.com",
      origins: ["https://id.example.com", "https://app.example.com:8443"],
    });
    expect(() =>
      loadConfig({ ISSUER: "https://id.example.com", PASSKEY_ORIGINS: "https://evil.test" }),
    ).toThrow(/PASSKEY_ORIGINS: "https:\/\/evil.test" is not on PASSKEY_RP_ID/);
    expect(() => loadConfig({ PASSKEY_ORIGINS: "https://id.example.com/path" })).toThrow(
      /not an http\(s\) origin/,
    );
    expect(() => loadConfig({ PASSKEY_RP_ID: "https://example.com" })).toThrow(
      /PASSKEY_RP_ID must be a host name/,
    );
    const keycloak = {
      IDENTITY_PROVIDER: "keycloak",
      KEYCLOAK_URL: "http://kc.test",
      KEYCLOAK_CLIENT_SECRET: "s",
    };
    expect(loadConfig(keycloak).identity.passkeys.enabled).toBe(false);
    expect(loadConfig({ ADMIN_SECOND_FACTOR: "passkey" }).identity.adminSecondFactor).toBe("passkey");
    expect(() => loadConfig({ ...keycloak, ADMIN_SECOND_FACTOR: "any" })).toThrow(/ADMIN_SECOND_FACTOR/);
    expect(() => loadConfig({ ADMIN_SECOND_FACTOR: "always" })).toThrow(/ADMIN_SECOND_FACTOR must be one of/);
  });

  it("reads KEYCLOAK_CA_FILE only for an https:// KEYCLOAK_URL", () => {
    const keycloak = {
      IDENTITY_PROVIDER: "keycloak",
      KEYCLOAK_CLIENT_SECRET: "s",
      KEYCLOAK_CA_FILE: "/ca.pem",
    };
    const provider = loadConfig({ ...keycloak, KEYCLOAK_URL: "https://kc.test" }).identity.provider;
    expect(provider.kind === "keycloak" ? provider.caFile : undefined).toBe("/ca.pem");
    expect(() => loadConfig({ ...keycloak, KEYCLOAK_URL: "http://kc.test" })).toThrow(
      /KEYCLOAK_CA_FILE needs an https:\/\/ KEYCLOAK_URL/,
    );
  });

  it("polls Keycloak's events every 2 s by default, off at 0, and refuses a hot loop", () => {
    const keycloak = {
      IDENTITY_PROVIDER: "keycloak",
      KEYCLOAK_URL: "http://kc.test",
      KEYCLOAK_CLIENT_SECRET: "s",
    };
    const pollMs = (env: Record<string, string>) => {
      const provider = loadConfig({ ...keycloak, ...env }).identity.provider;
      return provider.kind === "keycloak" ? provider.eventsPollMs : undefined;
    };
    expect(pollMs({})).toBe(2000);
    expect(pollMs({ KEYCLOAK_EVENTS_POLL_MS: "0" })).toBe(0);
    expect(() => pollMs({ KEYCLOAK_EVENTS_POLL_MS: "5" })).toThrow(/KEYCLOAK_EVENTS_POLL_MS/);
  });

  it("accepts the seed's 64-hex vault key and a rotation keyring", () => {
    const single = loadConfig({ AUTH_MANAGER_TOKEN_VAULT_ENCRYPTION_KEY: "ab".repeat(32) });
    expect(single.vault.activeKeyId).toBe("default");
    const ring = loadConfig({
      VAULT_KEYS: `old:${"01".repeat(32)},new:${Buffer.alloc(32, 7).toString("base64")}`,
      VAULT_ACTIVE_KEY: "new",
    });
    expect([...ring.vault.keys.keys()]).toEqual(["old", "new"]);
    expect(ring.vault.activeKeyId).toBe("new");
    expect(() => loadConfig({ VAULT_KEYS: `a:${"01".repeat(32)},b:${"02".repeat(32)}` })).toThrow(
      /VAULT_ACTIVE_KEY/,
    );
  });

  it("refuses an HTTP/1.1 headers timeout longer than the request timeout (Node would throw later)", () => {
    expect(() => loadConfig({ HTTP1_HEADERS_TIMEOUT_MS: "5000", HTTP1_REQUEST_TIMEOUT_MS: "4000" })).toThrow(
      /HTTP1_HEADERS_TIMEOUT_MS must not exceed HTTP1_REQUEST_TIMEOUT_MS/,
    );
    expect(loadConfig({}).server.connections.http2MaxConcurrentStreams).toBe(256);
  });

  it("reads TLS: cert and key together, client auth needing a CA, require by default with one", () => {
    expect(loadConfig({}).server.tls).toBeUndefined();
    expect(() => loadConfig({ TLS_CERT_FILE: "/c.pem" })).toThrow(
      /TLS_CERT_FILE and TLS_KEY_FILE must be set together/,
    );
    expect(() =>
      loadConfig({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem", TLS_CLIENT_AUTH: "require" }),
    ).toThrow(/TLS_CLIENT_AUTH=require needs TLS_CLIENT_CA_FILE/);
    expect(() => loadConfig({ TLS_CLIENT_CA_FILE: "/ca.pem" })).toThrow(
      /need TLS_CERT_FILE and TLS_KEY_FILE/,
    );
    const tls = loadConfig({ TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem", TLS_CLIENT_CA_FILE: "/ca.pem" })
      .server.tls;
    expect(tls).toMatchObject({
      certFile: "/c.pem",
      keyFile: "/k.pem",
      clientCaFile: "/ca.pem",
      clientAuth: "require",
    });
  });

  it("reads MANAGEMENT_PORT: unset means the API port serves the ops routes", () => {
    expect(loadConfig({}).server.managementPort).toBeUndefined();
    expect(loadConfig({ MANAGEMENT_PORT: "9090" }).server.managementPort).toBe(9090);
    expect(() => loadConfig({ PORT: "9090", MANAGEMENT_PORT: "9090" })).toThrow(
      /MANAGEMENT_PORT must differ from PORT/,
    );
  });

  it("reads tracing: off unless an OTLP endpoint is set; the base endpoint gets /v1/traces", () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing).toEqual({
      tracesUrl: "http://collector:4318/v1/traces",
      serviceName: "gatehouse",
      sampleRatio: 1,
    });
    const specific = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/otlp",
      TRACING_SAMPLE_RATIO: "0.01",
    }).tracing;
    expect(specific).toMatchObject({ tracesUrl: "https://traces.example/otlp", sampleRatio: 0.01 });
    expect(() =>
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", TRACING_SAMPLE_RATIO: "2" }),
    ).toThrow(/TRACING_SAMPLE_RATIO must be a number from 0 to 1/);
  });

  it("reads DATABASE_SSL_CA_FILE only with DATABASE_URL", () => {
    expect(() => loadConfig({ DATABASE_SSL_CA_FILE: "/ca.pem" })).toThrow(
      /DATABASE_SSL_CA_FILE needs DATABASE_URL/,
    );
    const database = loadConfig({
      DATABASE_URL: "postgres://db/gatehouse",
      KEY_ENCRYPTION_KEY: "ab".repeat(32),
      DATABASE_SSL_CA_FILE: "/ca.pem",
    }).database;
    expect(database).toMatchObject({ kind: "postgres", sslCaFile: "/ca.pem" });
  });

  it("reads CHECK_ALLOWED_SPIFFE_IDS: SPIFFE ids or /* prefixes, only with client certificates", () => {
    const mtls = { TLS_CERT_FILE: "/c.pem", TLS_KEY_FILE: "/k.pem", TLS_CLIENT_CA_FILE: "/ca.pem" };
    expect(
      loadConfig({ ...mtls, CHECK_ALLOWED_SPIFFE_IDS: "spiffe://td/ns/a/sa/b, spiffe://td/ns/c/*" }).server
        .tls?.checkCallers,
    ).toEqual(["spiffe://td/ns/a/sa/b", "spiffe://td/ns/c/*"]);
    expect(loadConfig(mtls).server.tls?.checkCallers).toBeUndefined();
    expect(() => loadConfig({ ...mtls, CHECK_ALLOWED_SPIFFE_IDS: "td/ns/a" })).toThrow(
      /CHECK_ALLOWED_SPIFFE_IDS: "td\/ns\/a" is not a SPIFFE id/,
    );
    expect(() =>
      loadConfig({
        TLS_CERT_FILE: "/c.pem",
        TLS_KEY_FILE: "/k.pem",
        CHECK_ALLOWED_SPIFFE_IDS: "spiffe://td/a",
      }),
    ).toThrow(/CHECK_ALLOWED_SPIFFE_IDS needs client certificates/);
  });

  it("reads REDIS_TLS_CA_FILE only with a rediss:// REDIS_URL", () => {
    expect(() => loadConfig({ REDIS_URL: "redis://r:6379", REDIS_TLS_CA_FILE: "/ca.pem" })).toThrow(
      /REDIS_TLS_CA_FILE needs a rediss:\/\/ REDIS_URL/,
    );
    expect(loadConfig({ REDIS_URL: "rediss://r:6380", REDIS_TLS_CA_FILE: "/ca.pem" }).redis.tlsCaFile).toBe(
      "/ca.pem",
    );
  });

  it("is documented: every variable it reads appears in the README's configuration table", () => {
    const root = resolve(import.meta.dirname, "../..");
    const source = readFileSync(resolve(root, "src/config/config.ts"), "utf8");
    const readme = readFileSync(resolve(root, "README.md"), "utf8");
    const names = [...source.matchAll(/read\.\w+\(\s*"([A-Z][A-Z0-9_]+)"/g)].map((match) => match[1]!);
    expect(names.length).toBeGreaterThan(20);
    const missing = [...new Set(names)].filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
