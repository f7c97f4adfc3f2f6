import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/config.ts";
import { providerSummary } from "./provider-summary.ts";

const KEY = "5e".repeat(32);
const CLIENT_SECRET = "keycloak-client-secret-value";

describe("providerSummary (the start-up log's provider)", () => {
  it("names how the key encryption key is held, never the key", () => {
    const config = loadConfig({ KEY_ENCRYPTION_KEY: KEY, DATA_DIR: "/tmp/unused" });
    const summary = providerSummary(config.identity.provider);
    expect(summary).toMatchObject({ kind: "local", keyEncryptionKeySource: "configured" });
    expect(JSON.stringify(summary)).not.toContain(KEY);
  });

  it("names Keycloak's realm and client, never the client secret", () => {
    const config = loadConfig({
      IDENTITY_PROVIDER: "keycloak",
      KEYCLOAK_URL: "http://127.0.0.1:8180",
      KEYCLOAK_REALM: "gatehouse",
      KEYCLOAK_CLIENT_ID: "gatehouse-api",
      KEYCLOAK_CLIENT_SECRET: CLIENT_SECRET,
      DATA_DIR: "/tmp/unused",
    });
    const summary = providerSummary(config.identity.provider);
    expect(summary).toMatchObject({ kind: "keycloak", realm: "gatehouse", clientId: "gatehouse-api" });
    expect(JSON.stringify(summary)).not.toContain(CLIENT_SECRET);
  });
});
