import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("runs on embedded defaults with an empty environment", () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(8080);
    expect(config.database.url).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
    expect(config.identity.provider).toBe("local");
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
