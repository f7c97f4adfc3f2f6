import { type ChildProcess, spawn } from "node:child_process";
import { Redis } from "ioredis";
import { freePort } from "../../harness/free-port.ts";

/**
 * A redis-server of the test's own, on a free port, so a test can stop and
 * restart it without disturbing the shared Redis other suites use.
 */
export class PrivateRedis {
  readonly port: number;
  private process: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.process = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    const client = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`private redis-server on port ${this.port} did not start`);
  }

  /** SIGSTOP: the connections stay open and nothing answers (a hung server, not a dead one). */
  pause(): void {
    this.process?.kill("SIGSTOP");
  }

  /** SIGCONT after pause(). */
  unpause(): void {
    this.process?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.unpause();
    const process = this.process;
    if (process === undefined || process.exitCode !== null) return;
    const exited = new Promise((resolve) => process.once("exit", resolve));
    process.kill("SIGKILL");
    await exited;
    this.process = undefined;
  }
}
