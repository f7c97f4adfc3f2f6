import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./free-port.ts";
import {
  ensureKeycloak,
  isKeycloakRunning,
  type KeycloakInstance,
  type RunningKeycloak,
  stopKeycloak,
} from "./keycloak.ts";

/** An instance of this file's own (keycloak.sh KEYCLOAK_INSTANCE=harness), never the shared one. */
describe("ensureKeycloak", () => {
  let instance: KeycloakInstance;
  let first: RunningKeycloak;
  let second: RunningKeycloak;
  let starts = 0;

  beforeAll(async () => {
    instance = { name: "harness", port: await freePort(), managementPort: await freePort() };
    // A run that crashed may have left it running.
    await stopKeycloak(instance);
    const beforeStart = () => {
      starts++;
    };
    [first, second] = await Promise.all([
      ensureKeycloak(instance, { beforeStart }),
      ensureKeycloak(instance, { beforeStart }),
    ]);
  });
  afterAll(async () => {
    if (instance !== undefined) await stopKeycloak(instance);
  });

  it("starts a stopped instance once and tells only the first caller it started it", async () => {
    expect(first).toEqual({ url: `http://127.0.0.1:${instance.port}`, startedHere: true });
    expect(second).toEqual({ url: first.url, startedHere: false });
    expect(starts).toBe(1);
    expect((await fetch(`${first.url}/realms/gatehouse/.well-known/openid-configuration`)).status).toBe(200);
  });

  it("stops it", async () => {
    await stopKeycloak(instance);
    expect(await isKeycloakRunning(instance)).toBe(false);
  });

  it("refuses to stop the shared instance: other suites and agents use it", async () => {
    await expect(stopKeycloak({ name: "", port: 8180, managementPort: 9180 })).rejects.toThrow(
      /shared Keycloak/,
    );
  });
});
