import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trustKeycloakCa } from "./keycloak-trust.ts";

describe("trustKeycloakCa", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-kc-ca-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("stops the start with a message naming KEYCLOAK_CA_FILE for a missing, empty or broken bundle", async () => {
    expect(() => trustKeycloakCa(join(dir, "absent.pem"))).toThrow(/KEYCLOAK_CA_FILE: cannot read/);
    await writeFile(join(dir, "empty.pem"), "not a certificate\n");
    expect(() => trustKeycloakCa(join(dir, "empty.pem"))).toThrow(/KEYCLOAK_CA_FILE: no PEM certificate/);
    await writeFile(
      join(dir, "broken.pem"),
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    expect(() => trustKeycloakCa(join(dir, "broken.pem"))).toThrow(
      /KEYCLOAK_CA_FILE: an invalid certificate/,
    );
  });
});
