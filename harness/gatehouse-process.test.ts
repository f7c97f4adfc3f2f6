import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GATEHOUSE_NODE_FLAGS, startGatehouseProcess } from "./gatehouse-process.ts";
import { ROOT } from "./root.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startGatehouseProcess", () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-harness-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };

  it("runs src/main.ts with the production Node flags and answers once it listens", async () => {
    const gatehouse = await startGatehouseProcess({ env: { DATA_DIR: await dataDir() } });
    cleanups.push(() => gatehouse.stop());
    const argv = readFileSync(`/proc/${gatehouse.pid}/cmdline`, "utf8").split("\0");
    expect(argv.slice(1, -1)).toEqual([...GATEHOUSE_NODE_FLAGS, "src/main.ts"]);
    expect((await fetch(`${gatehouse.url}/healthz`)).status).toBe(200);
    expect(await gatehouse.stop()).toBe(0);
    expect(gatehouse.exitCode()).toBe(0);
  });

  it("takes nothing from the caller's environment but PATH and HOME", async () => {
    // Inherited, this would point Gatehouse at a database it refuses at start-up.
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = "mysql://not-a-gatehouse-database";
    cleanups.push(async () => {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    });
    const gatehouse = await startGatehouseProcess({ env: { DATA_DIR: await dataDir() } });
    cleanups.push(() => gatehouse.stop());
    expect(gatehouse.env.DATABASE_URL).toBeUndefined();
    expect((await fetch(`${gatehouse.url}/healthz`)).status).toBe(200);
  });

  it("stops the processes it started when the runner exits, even by an uncaught error", async () => {
    const directory = await dataDir();
    // A runner that starts a Gatehouse, says its pid and crashes.
    const script = `
      const { startGatehouseProcess } = await import(${JSON.stringify(join(ROOT, "harness/gatehouse-process.ts"))});
      const gatehouse = await startGatehouseProcess({ env: { DATA_DIR: ${JSON.stringify(directory)} } });
      process.stdout.write(gatehouse.pid + "\\n");
      throw new Error("the runner crashed");
    `;
    const runner = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "ignore"],
    });
    let stdout = "";
    runner.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => runner.once("exit", resolve));
    expect(code).not.toBe(0);
    const pid = Number(stdout.trim());
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    cleanups.push(async () => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    });
    // Polled, never timed.
    for (let attempt = 0; attempt < 300 && alive(pid); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(alive(pid)).toBe(false);
  });
});
