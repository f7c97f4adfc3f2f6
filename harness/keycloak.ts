import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./root.ts";

const run = promisify(execFile);
const SCRIPT = resolve(ROOT, "keycloak/keycloak.sh");

/** What keycloak/realm-gatehouse.json defines: the realm and Gatehouse's confidential client in it. */
export const KEYCLOAK_REALM = "gatehouse";
export const KEYCLOAK_CLIENT_ID = "gatehouse-backend";
export const KEYCLOAK_CLIENT_SECRET = "gatehouse-backend-secret";

/** A Keycloak server run by keycloak/keycloak.sh. */
export interface KeycloakInstance {
  /** KEYCLOAK_INSTANCE: empty for the default instance of the cache root; a name runs a copy with its own data. */
  readonly name: string;
  readonly port: number;
  readonly managementPort: number;
  /** GATEHOUSE_CACHE: where the script keeps the distribution and data (its default when absent). */
  readonly cacheRoot?: string;
  /** KEYCLOAK_KEEP_DATA=1: keep users between starts instead of importing the realm afresh. */
  readonly keepData?: boolean;
  /** KEYCLOAK_HOSTNAME: the public URL (issuer) the server announces; default its own URL. */
  readonly hostname?: string;
  /** KEYCLOAK_HOSTNAME_BACKCHANNEL_DYNAMIC=true: back-channel URLs follow the request (as in compose). */
  readonly backchannelDynamic?: boolean;
  /** Also serve https on this port with this PEM certificate and key (KEYCLOAK_HTTPS_*). */
  readonly https?: { readonly port: number; readonly certificateFile: string; readonly keyFile: string };
}

/** The shared dev/CI instance (`KEYCLOAK_KEEP_RUNNING=1 keycloak/keycloak.sh start`). */
export const SHARED_KEYCLOAK: KeycloakInstance = { name: "", port: 8180, managementPort: 9180 };

export const keycloakUrl = (instance: KeycloakInstance) => `http://127.0.0.1:${instance.port}`;

function scriptEnv(instance: KeycloakInstance): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KEYCLOAK_PORT: String(instance.port),
    KEYCLOAK_MGMT_PORT: String(instance.managementPort),
    ...(instance.name === "" ? {} : { KEYCLOAK_INSTANCE: instance.name }),
    ...(instance.cacheRoot === undefined ? {} : { GATEHOUSE_CACHE: instance.cacheRoot }),
    ...(instance.keepData === true ? { KEYCLOAK_KEEP_DATA: "1" } : {}),
    ...(instance.hostname === undefined ? {} : { KEYCLOAK_HOSTNAME: instance.hostname }),
    ...(instance.backchannelDynamic === true ? { KEYCLOAK_HOSTNAME_BACKCHANNEL_DYNAMIC: "true" } : {}),
    ...(instance.https === undefined
      ? {}
      : {
          KEYCLOAK_HTTPS_PORT: String(instance.https.port),
          KEYCLOAK_HTTPS_CERTIFICATE_FILE: instance.https.certificateFile,
          KEYCLOAK_HTTPS_CERTIFICATE_KEY_FILE: instance.https.keyFile,
        }),
  };
}

const instanceKey = (instance: KeycloakInstance) =>
  `${instance.cacheRoot ?? ""}:${instance.name}:${instance.port}`;

export interface RunningKeycloak {
  readonly url: string;
  /** False when it was already running (then it is not this process's to stop). */
  readonly startedHere: boolean;
}

export interface EnsureOptions {
  /** Runs only when the server is down, before keycloak.sh starts it (e.g. to say it takes a while). */
  readonly beforeStart?: () => void | Promise<void>;
}

/** Healthy, with the realm imported (keycloak.sh status). */
export async function isKeycloakRunning(instance: KeycloakInstance): Promise<boolean> {
  try {
    await run("bash", [SCRIPT, "status"], { env: scriptEnv(instance), timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const ensured = new Map<string, Promise<RunningKeycloak>>();

/**
 * The one way to have Keycloak: reuse a healthy server on the instance's port,
 * or start it with keycloak/keycloak.sh (which fetches and builds it once,
 * serialises concurrent starts and waits until the realm answers). Calls in one
 * process share one start. There is no skip path: it throws when Keycloak cannot start.
 */
export function ensureKeycloak(
  instance: KeycloakInstance = SHARED_KEYCLOAK,
  options: EnsureOptions = {},
): Promise<RunningKeycloak> {
  const key = instanceKey(instance);
  const earlier = ensured.get(key);
  // Only the first caller started it: the others must not stop it under the first.
  if (earlier !== undefined) return earlier.then(({ url }) => ({ url, startedHere: false }));
  const pending = (async () => {
    if (await isKeycloakRunning(instance)) return { url: keycloakUrl(instance), startedHere: false };
    await options.beforeStart?.();
    try {
      const { stdout } = await run("bash", [SCRIPT, "start"], {
        env: scriptEnv(instance),
        maxBuffer: 16 * 1024 * 1024,
        timeout: 900_000,
      });
      const url = /KEYCLOAK_URL=(\S+)/.exec(stdout)?.[1];
      if (url === undefined) throw new Error(`keycloak.sh start printed no URL:\n${stdout}`);
      return { url, startedHere: true };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? "";
      throw new Error(`Keycloak could not be started (keycloak/keycloak.sh start):\n${stderr.slice(-4000)}`, {
        cause: error,
      });
    }
  })();
  ensured.set(key, pending);
  // A failed start is tried again by the next caller.
  pending.catch(() => {
    if (ensured.get(key) === pending) ensured.delete(key);
  });
  return pending;
}

/**
 * Stops the instance if keycloak.sh started it (its pid file); a server it did
 * not start is left alone. Never the shared one: other suites and agents use it.
 */
export async function stopKeycloak(instance: KeycloakInstance): Promise<void> {
  if (instance.name === "" && instance.cacheRoot === undefined)
    throw new Error("the shared Keycloak is stopped by scripts/test.sh, not by a test or a benchmark");
  await run("bash", [SCRIPT, "stop"], { env: scriptEnv(instance), timeout: 120_000 });
  ensured.delete(instanceKey(instance));
}

/** Gatehouse's environment for a realm of that server with the realm file's client. */
export function keycloakEnvironment(url: string, realm = KEYCLOAK_REALM): Record<string, string> {
  return {
    IDENTITY_PROVIDER: "keycloak",
    KEYCLOAK_URL: url,
    KEYCLOAK_REALM: realm,
    KEYCLOAK_CLIENT_ID,
    KEYCLOAK_CLIENT_SECRET,
  };
}
