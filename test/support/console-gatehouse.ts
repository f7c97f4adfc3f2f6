import { freePort } from "../../harness/free-port.ts";
import { consoleOrigin, requireConsoleBuild } from "./console-browser.ts";
import { type Backend, startTestGatehouse, type TestGatehouse } from "./gatehouse.ts";
import { IDENTITY_ENV } from "./identity.ts";

/**
 * A Gatehouse with the built-in provider serving the built console on a port of its own, its
 * issuer the console's origin (the console client's redirect URIs are `${ISSUER}/console/callback`).
 */
export async function startConsoleGatehouse(
  options: { readonly backend?: Backend; readonly env?: Record<string, string> } = {},
): Promise<{ gatehouse: TestGatehouse; origin: string }> {
  requireConsoleBuild();
  const port = await freePort();
  const origin = consoleOrigin(port);
  const gatehouse = await startTestGatehouse({
    backend: options.backend ?? "postgres",
    env: { ...IDENTITY_ENV, ...options.env, PORT: String(port), ISSUER: origin },
  });
  return { gatehouse, origin };
}
