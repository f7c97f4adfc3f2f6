import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { ROOT } from "../../harness/root.ts";

/** A reference server of bench/reference/ as its own process (its pid is what the CPU split reads). */
export interface ReferenceServer {
  readonly url: string;
  readonly pid: number;
  /** What it printed before listening (e.g. a token it issued). */
  readonly banner: string;
  stop(): Promise<void>;
}

export async function startReferenceServer(
  script: string,
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<ReferenceServer> {
  const child: ChildProcess = spawn(process.execPath, [resolve(ROOT, script)], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolvePort, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match !== null) resolvePort(Number(match[1]));
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) =>
      reject(new Error(`${script} exited (${code}) before listening:\n${output}`)),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    banner: output,
    stop: () =>
      new Promise<void>((resolveStop) => {
        if (child.exitCode !== null) return resolveStop();
        child.once("exit", () => resolveStop());
        child.kill("SIGTERM");
      }),
  };
}
