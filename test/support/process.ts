import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface GatehouseProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything the process logged so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `node src/main.ts` as its own OS process, as a deployment would, and waits until it listens. */
export async function spawnGatehouse(env: Record<string, string>): Promise<GatehouseProcess> {
  const child = spawn(process.execPath, ["src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const port = await new Promise<number>((resolvePort, reject) => {
    const onData = () => {
      const match = /"msg":"gatehouse started"/.test(output)
        ? /"url":"http:\/\/[^:]+:(\d+)"/.exec(output)
        : null;
      if (match) {
        child.stdout!.off("data", onData);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    void exited.then((code) => reject(new Error(`gatehouse exited (${code}) before listening:\n${output}`)));
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
