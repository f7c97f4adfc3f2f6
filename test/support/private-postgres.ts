import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../../harness/free-port.ts";

/** The newest PostgreSQL server binaries installed (Debian's layout), or those on PATH. */
function binary(name: string): string {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((entry) => existsSync(join(root, entry, "bin", name)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(root, versions[0]!, "bin", name);
  }
  return name;
}

/** initdb and postgres refuse to run as root: there they run as the postgres user (spawned as it, no runuser in between). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  return {
    uid: Number(execFileSync("id", ["-u", "postgres"]).toString()),
    gid: Number(execFileSync("id", ["-g", "postgres"]).toString()),
  };
}

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return children;
}

/**
 * A PostgreSQL server of the test's own (initdb into a temp dir, a free port,
 * trust auth), so a test can pause it with SIGSTOP — the postmaster and every
 * backend, which keep their sockets open and answer nothing — without
 * disturbing the shared server other suites use.
 */
export class PrivatePostgres {
  readonly port: number;
  private readonly dataDir: string;
  private readonly process: ChildProcess;
  private stopped: number[] = [];

  private constructor(port: number, dataDir: string, process: ChildProcess) {
    this.port = port;
    this.dataDir = dataDir;
    this.process = process;
  }

  static async start(): Promise<PrivatePostgres> {
    const user = serverUser();
    const dataDir = await mkdtemp(join(tmpdir(), "gatehouse-pg-"));
    if (user !== undefined) await chown(dataDir, user.uid, user.gid);
    execFileSync(binary("initdb"), ["-D", dataDir, "-U", "postgres", "-A", "trust", "--no-sync"], {
      stdio: "ignore",
      ...user,
    });
    const port = await freePort();
    const child = spawn(
      binary("postgres"),
      [
        ...["-D", dataDir, "-p", String(port), "-k", dataDir],
        ...["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=50"],
      ],
      { stdio: "ignore", ...user },
    );
    const server = new PrivatePostgres(port, dataDir, child);
    for (let attempt = 0; attempt < 200 && child.exitCode === null; attempt++) {
      const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query("SELECT 1");
        await client.end();
        return server;
      } catch {
        await client.end().catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await server.stop();
    throw new Error(`private PostgreSQL on port ${port} did not start`);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /**
   * SIGSTOP to the postmaster first (so it forks no more backends), then to each
   * backend and helper: every connection stays open and nothing answers.
   * Backends are group leaders of their own (PostgreSQL calls setsid in each), so
   * a signal to the postmaster's process group would not reach them.
   */
  pause(): void {
    const pid = this.process.pid;
    if (pid === undefined || this.stopped.length > 0) return;
    process.kill(pid, "SIGSTOP");
    this.stopped = [pid, ...childrenOf(pid)];
    for (const child of this.stopped.slice(1)) process.kill(child, "SIGSTOP");
  }

  resume(): void {
    for (const pid of this.stopped.reverse()) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // Already gone.
      }
    }
    this.stopped = [];
  }

  async stop(): Promise<void> {
    this.resume();
    if (this.process.exitCode === null && this.process.signalCode === null) {
      const exited = new Promise((resolve) => this.process.once("exit", resolve));
      // SIGINT: PostgreSQL's fast shutdown.
      this.process.kill("SIGINT");
      await exited;
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
