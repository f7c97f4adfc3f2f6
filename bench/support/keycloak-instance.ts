import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ensureKeycloak,
  KEYCLOAK_CLIENT_ID,
  KEYCLOAK_CLIENT_SECRET,
  KEYCLOAK_REALM,
  type KeycloakInstance,
  keycloakUrl,
  stopKeycloak,
} from "../../harness/keycloak.ts";

const run = promisify(execFile);
const VERSION = "26.7.3";

/**
 * The benchmarks' own Keycloak: keycloak/keycloak.sh with a cache root of its
 * own (so its own data directory and pid file) on ports 8190/9190, keeping
 * its data between runs (KEYCLOAK_KEEP_DATA=1) so the 5,000 users of the sync
 * benchmark are created once. Never the shared dev/CI Keycloak on 8180:
 * thousands of extra users there would slow down everyone's sync tests.
 */
export class BenchKeycloak {
  readonly url: string;
  private readonly instance: KeycloakInstance;
  private startedHere = false;

  constructor(port = Number(process.env.BENCH_KEYCLOAK_PORT ?? 8190)) {
    this.instance = {
      name: "",
      port,
      managementPort: port + 1000,
      cacheRoot: process.env.BENCH_KEYCLOAK_CACHE ?? join(homedir(), ".cache/gatehouse-bench"),
      keepData: true,
    };
    this.url = keycloakUrl(this.instance);
  }

  /** Reuses a running instance, or starts one (building it first by copying the shared, already built distribution). */
  async start(log: (message: string) => void): Promise<void> {
    const { startedHere } = await ensureKeycloak(this.instance, {
      beforeStart: async () => {
        await this.copySharedBuild(log);
        log(`keycloak: starting the benchmark instance at ${this.url} (≈ 45 s)`);
      },
    });
    if (!startedHere) log(`keycloak: reusing the benchmark instance at ${this.url}`);
    this.startedHere = startedHere;
  }

  /** keycloak.sh would download and build it again under this cache root: the shared cache has it built. */
  private async copySharedBuild(log: (message: string) => void): Promise<void> {
    const dist = join(this.instance.cacheRoot!, `keycloak-${VERSION}`, "dist");
    const shared = join(
      process.env.GATEHOUSE_CACHE ?? join(homedir(), ".cache/gatehouse"),
      `keycloak-${VERSION}`,
      "dist",
    );
    if (existsSync(join(dist, ".gatehouse-build")) || !existsSync(join(shared, ".gatehouse-build"))) return;
    log("keycloak: copying the built distribution from the shared cache");
    await mkdir(dist, { recursive: true });
    await cp(shared, dist, {
      recursive: true,
      filter: (source) => !source.startsWith(join(shared, "data")),
    });
  }

  /** Stops the instance only if this run started it (and BENCH_KEEP_KEYCLOAK=1 does not ask to keep it). */
  async stop(log: (message: string) => void): Promise<void> {
    if (!this.startedHere || process.env.BENCH_KEEP_KEYCLOAK === "1") return;
    log("keycloak: stopping the benchmark instance");
    await stopKeycloak(this.instance);
    this.startedHere = false;
  }

  tokenEndpoint(): string {
    return `${this.url}/realms/${KEYCLOAK_REALM}/protocol/openid-connect/token`;
  }

  introspectionPath(): string {
    return `/realms/${KEYCLOAK_REALM}/protocol/openid-connect/token/introspect`;
  }

  basicAuth(): string {
    return `Basic ${Buffer.from(`${KEYCLOAK_CLIENT_ID}:${KEYCLOAK_CLIENT_SECRET}`).toString("base64")}`;
  }

  /** An access token of the backend client's service account (manage-users in the realm). */
  async serviceToken(): Promise<string> {
    return this.token({ grant_type: "client_credentials" });
  }

  async passwordToken(username: string, password: string): Promise<string> {
    return this.token({ grant_type: "password", username, password });
  }

  private async token(form: Record<string, string>): Promise<string> {
    const response = await fetch(this.tokenEndpoint(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: this.basicAuth() },
      body: new URLSearchParams(form),
    });
    const body = (await response.json()) as { access_token?: string; error_description?: string };
    if (!response.ok || body.access_token === undefined) {
      throw new Error(`Keycloak token (${form.grant_type}): HTTP ${response.status} ${JSON.stringify(body)}`);
    }
    return body.access_token;
  }

  async admin(method: string, path: string, body?: unknown): Promise<Response> {
    const token = await this.serviceTokenCached();
    return fetch(`${this.url}/admin/realms/${KEYCLOAK_REALM}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  private cachedToken: { token: string; until: number } | undefined;

  private async serviceTokenCached(): Promise<string> {
    if (this.cachedToken === undefined || this.cachedToken.until < Date.now()) {
      this.cachedToken = { token: await this.serviceToken(), until: Date.now() + 60_000 };
    }
    return this.cachedToken.token;
  }

  /** Usernames in the realm starting with the prefix. */
  async usernamesWithPrefix(prefix: string): Promise<Set<string>> {
    const names = new Set<string>();
    for (let first = 0; ; first += 1000) {
      const response = await this.admin(
        "GET",
        `/users?search=${encodeURIComponent(prefix)}&briefRepresentation=true&first=${first}&max=1000`,
      );
      if (!response.ok) throw new Error(`Keycloak list users: HTTP ${response.status}`);
      const page = (await response.json()) as Array<{ username: string }>;
      for (const user of page) if (user.username.startsWith(prefix)) names.add(user.username);
      if (page.length < 1000) return names;
    }
  }

  /** Creates a user (201), or accepts that it exists (409). */
  async ensureUser(user: {
    username: string;
    email: string;
    firstName: string;
    lastName: string;
    password?: string;
    attributes?: Record<string, string[]>;
  }): Promise<void> {
    const response = await this.admin("POST", "/users", {
      username: user.username,
      email: user.email,
      firstName: user.firstName,
      lastName: user.lastName,
      enabled: true,
      emailVerified: true,
      ...(user.attributes === undefined ? {} : { attributes: user.attributes }),
      ...(user.password === undefined
        ? {}
        : { credentials: [{ type: "password", value: user.password, temporary: false }] }),
    });
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(
        `Keycloak create user ${user.username}: HTTP ${response.status} ${await response.text()}`,
      );
    }
  }
}

/** The JVM's pid (the child of kc.sh, whose pid keycloak.sh records), for the CPU split; undefined if unknown. */
export async function keycloakJavaPid(): Promise<number | undefined> {
  try {
    const { stdout } = await run("bash", ["-c", `pgrep -f -- "-Dkc.home.dir=.*gatehouse-bench" | head -1`]);
    const pid = Number(stdout.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
