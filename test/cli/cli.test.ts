import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { IDENTITY_ENV, loginTokens, ok, TEST_ADMIN, uniqueName } from "../support/identity.ts";

const CLI = resolve(import.meta.dirname, "../../packages/client/src/cli/main.ts");

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The `gatehouse` CLI as a person runs it: a separate process, its own config directory,
 * against a real Gatehouse on PostgreSQL and Redis, over Connect (HTTP/1.1) and gRPC.
 */
describe("the gatehouse CLI against a running server", () => {
  let server: TestGatehouse;
  let configDir: string;

  const run = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
    new Promise<Run>((done) => {
      const child = execFile(
        process.execPath,
        [CLI, "--server", server.url, ...args],
        { env: { ...process.env, GATEHOUSE_CONFIG_DIR: configDir, ...options.env }, timeout: 30_000 },
        (error, stdout, stderr) =>
          done({
            status: error === null ? 0 : Number((error as { code?: number }).code ?? 1),
            stdout,
            stderr,
          }),
      );
      child.stdin!.end(options.stdin ?? "");
    });
  const json = async (args: string[], options?: { stdin?: string }) => {
    const result = await run(["--json", ...args], options);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout);
  };
  const signInAsAdmin = () =>
    run(["login", "--username", TEST_ADMIN.username, "--password-stdin"], {
      stdin: `${TEST_ADMIN.password}\n`,
    });

  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    configDir = await mkdtemp(join(tmpdir(), "gatehouse-cli-"));
  });
  afterAll(async () => {
    await server?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it("prints help for itself and each command, and a completion script", async () => {
    const help = await run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("users list");
    expect(help.stdout).toContain("Exit status:");
    const sub = await run(["users", "create", "--help"]);
    expect(sub.stdout).toContain("--password-stdin");
    const completion = await run(["completion", "bash"]);
    expect(completion.stdout).toContain("complete -F _gatehouse gatehouse");
    expect(completion.stdout).toContain("service-accounts");
  });

  it("refuses unknown commands and flags with the usage status", async () => {
    expect((await run(["frobnicate"])).status).toBe(2);
    const bad = await run(["users", "list", "--no-such-flag"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--no-such-flag");
  });

  it("says 'not signed in' with status 3 before login, and caches tokens 0600 after", async () => {
    const before = await run(["users", "list"]);
    expect(before.status).toBe(3);
    expect(before.stderr).toContain("gatehouse login");
    const login = await signInAsAdmin();
    expect(login.status).toBe(0);
    const file = await stat(join(configDir, "credentials.json"));
    expect(file.mode & 0o777).toBe(0o600);
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    const me = await json(["whoami"]);
    expect(me.user.username).toBe(TEST_ADMIN.username);
    expect(me.permissions).toContain("users.write");
  });

  it("manages a user end to end: create with metadata, find, update, grant, disable, delete", async () => {
    await signInAsAdmin();
    const slug = uniqueName("svc");
    await json(["services", "create", slug, "--role", "viewer", "--role", "editor"]);
    const username = uniqueName("cli");
    const created = await json(
      [
        "users",
        "create",
        "--username",
        username,
        "--email",
        `${username}@example.test`,
        "--password-stdin",
        "--phone",
        "+1 555 0100",
        "--title",
        "Engineer",
      ],
      { stdin: "Cli-user-pass-123!\n" },
    );
    expect(created.phone).toBe("+1 555 0100");
    const listed = await json(["users", "list", "--query", username]);
    expect(listed.map((u: { username: string }) => u.username)).toEqual([username]);
    const updated = await json(["users", "update", username, "--department", "Platform"]);
    expect(updated.department).toBe("Platform");
    await json(["users", "set-grants", username, `${slug}:editor`]);
    const grants = await json(["users", "grants", username]);
    expect(grants.effectiveGrants).toEqual([expect.objectContaining({ serviceSlug: slug, role: "editor" })]);
    await json(["users", "set-password", username], { stdin: "Cli-user-pass-456!\n" });
    const session = await loginTokens(server.url, username, "Cli-user-pass-456!");
    const revoked = await json(["users", "revoke-sessions", username]);
    expect(revoked.sessionsEnded).toBeGreaterThanOrEqual(1);
    const verify = await postJson(server.url, "gatehouse.v1.AuthService/VerifyToken", {
      token: session.accessToken,
    });
    expect(verify.status).toBe(401);
    const disabled = await json(["users", "disable", username]);
    expect(disabled.status).toBe("USER_STATUS_DISABLED");
    await json(["users", "delete", username]);
    const table = await run(["users", "list", "--query", username, "--status", "active"]);
    expect(table.stdout).toBe("(none)\n");
  });

  it("maps server errors to exit statuses and prints field violations", async () => {
    await signInAsAdmin();
    const invalid = await run(["users", "create", "--username", "x", "--email", "not-an-email"]);
    expect(invalid.status).toBe(6);
    expect(invalid.stderr).toContain("InvalidArgument");
    expect(invalid.stderr).toMatch(/email/);
    const missing = await run(["services", "get", "no-such-service"]);
    expect(missing.status).toBe(5);
    const slug = uniqueName("svc");
    await json(["services", "create", slug]);
    expect((await run(["services", "create", slug])).status).toBe(7);
  });

  it("denies a user without the permission with status 4", async () => {
    const username = uniqueName("plain");
    const password = "Plain-user-pass-12!";
    const admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    await ok(
      server.url,
      "gatehouse.v1.UserService/CreateUser",
      { username, email: `${username}@example.test`, password, emailVerified: true },
      admin,
    );
    await run(["login", "--username", username, "--password-stdin"], { stdin: password });
    const denied = await run(["users", "list"]);
    expect(denied.status).toBe(4);
    expect(denied.stderr).toContain("PermissionDenied");
  });

  it("answers the MFA challenge when MFA is on", async () => {
    const username = uniqueName("mfa");
    const password = "Mfa-user-pass-123!";
    const admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    await ok(
      server.url,
      "gatehouse.v1.UserService/CreateUser",
      { username, email: `${username}@example.test`, password, emailVerified: true },
      admin,
    );
    const own = (await loginTokens(server.url, username, password)).accessToken;
    const { secret } = await ok(server.url, "gatehouse.v1.AuthService/EnrollTotp", {}, own);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    const { recoveryCodes } = await ok(
      server.url,
      "gatehouse.v1.AuthService/ConfirmTotp",
      { code: totp.generate() },
      own,
    );
    const withoutCode = await run(["login", "--username", username, "--password-stdin"], { stdin: password });
    expect(withoutCode.status).toBe(2);
    expect(withoutCode.stderr).toContain("--totp");
    // The TOTP code just used to confirm may not be used again (replay): a recovery code answers
    // the challenge instead.
    const signedIn = await run(
      ["login", "--username", username, "--password-stdin", "--recovery-code", recoveryCodes[0]],
      { stdin: password },
    );
    expect(signedIn.stderr).toBe("");
    expect(signedIn.status).toBe(0);
    expect((await json(["whoami"])).user.username).toBe(username);
  });

  it("creates a service account, signs in as it, and a secret rotation ends the old secret", async () => {
    await signInAsAdmin();
    const name = uniqueName("sa");
    const created = await json(["service-accounts", "create", name]);
    const first = created.clientSecret as string;
    expect(first.length).toBeGreaterThan(20);
    const rotated = await json(["service-accounts", "rotate-secret", name]);
    expect(rotated.clientSecret).not.toBe(first);
    const withOld = await run(["login", "--client-id", name, "--client-secret-stdin"], { stdin: first });
    expect(withOld.status).toBe(3);
    const withNew = await run(["login", "--client-id", name, "--client-secret-stdin"], {
      stdin: rotated.clientSecret,
    });
    expect(withNew.status).toBe(0);
    expect((await json(["whoami"])).kind).toBe("service_account");
  });

  it("works over gRPC too, and tails the audit log as JSON lines", async () => {
    await signInAsAdmin();
    const services = await json(["--transport", "grpc", "services", "list"]);
    expect(Array.isArray(services)).toBe(true);
    const tail = await run(["--json", "audit", "tail", "--limit", "5", "--action", "auth.login"]);
    expect(tail.status).toBe(0);
    const lines = tail.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((event: { action: string }) => event.action === "auth.login")).toBe(true);
  });

  it("rotates the signing keys: the successors are published at once, and a second call changes nothing", async () => {
    await signInAsAdmin();
    const rotated = await json(["keys", "rotate-signing-key"]);
    expect(rotated.map((key: { algorithm: string }) => key.algorithm).sort()).toEqual(["ES256", "RS256"]);
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    const published = jwks.keys.map((key) => key.kid);
    for (const key of rotated) expect(published).toContain(key.kid);
    const again = await json(["keys", "rotate-signing-key"]);
    expect(again.map((key: { kid: string }) => key.kid)).toEqual(
      rotated.map((key: { kid: string }) => key.kid),
    );
    // Tokens keep working across the rotation.
    expect((await json(["whoami"])).user.username).toBe(TEST_ADMIN.username);
  });

  it("logout ends the session on the server and forgets the tokens", async () => {
    await signInAsAdmin();
    const out = await run(["logout"]);
    expect(out.status).toBe(0);
    expect((await run(["whoami"])).status).toBe(3);
  });
});
