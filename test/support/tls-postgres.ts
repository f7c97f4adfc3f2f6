import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "../../harness/free-port.ts";
import type { TestPki } from "./test-certificates.ts";

const BIN = "/usr/lib/postgresql/15/bin";

export interface TlsPostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:port/postgres, without any TLS parameter. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp dir, run as the
 * postgres user: it refuses root) that accepts only TLS connections
 * (pg_hba: hostssl), with the test CA's server certificate for 127.0.0.1.
 */
export async function startTlsPostgres(pki: TestPki): Promise<TlsPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-pg-tls-"));
  const { uid, gid } = {
    uid: Number(execFileSync("id", ["-u", "postgres"]).toString()),
    gid: Number(execFileSync("id", ["-g", "postgres"]).toString()),
  };
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  execFileSync(
    "runuser",
    ["-u", "postgres", "--", `${BIN}/initdb`, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
    { stdio: "ignore" },
  );
  for (const [from, to] of [
    [pki.serverCert, "server.crt"],
    [pki.serverKey, "server.key"],
  ] as const) {
    copyFileSync(from, join(data, to));
    chownSync(join(data, to), uid, gid);
    chmodSync(join(data, to), 0o600);
  }
  writeFileSync(
    join(data, "pg_hba.conf"),
    "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
  );
  const port = await freePort();
  // setpriv execs postgres itself (runuser would stay its parent and not pass SIGINT on).
  const child: ChildProcess = spawn(
    "setpriv",
    [
      "--reuid=postgres",
      "--regid=postgres",
      "--init-groups",
      `${BIN}/postgres`,
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "ssl=on",
      "-c",
      "fsync=off",
    ],
    { stdio: "ignore" },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ca = pki.caCert;
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({
      connectionString: url,
      ssl: { ca: readFileSync(ca) },
    });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (attempt > 200) {
        child.kill("SIGINT");
        throw error;
      }
      await sleep(50);
    }
  }
  return {
    port,
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      // SIGINT is PostgreSQL's fast shutdown.
      child.kill("SIGINT");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
