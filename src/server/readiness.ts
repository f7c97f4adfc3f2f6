import type { Logger } from "../observability/logger.ts";

const CHECK_INTERVAL_MS = 5000;

/**
 * Whether the database answers, checked every few seconds and on each
 * readiness probe; health (gRPC and /readyz) reports NOT_SERVING while it
 * does not. A check that takes longer than its deadline counts as a failure:
 * a database that does not answer is as unready as one that refuses. A
 * change is logged once, not on every failed check.
 */
export class DatabaseReadiness {
  private readonly ping: () => Promise<unknown>;
  private readonly deadlineMs: number;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private reachable = true;

  constructor(ping: () => Promise<unknown>, deadlineMs: number, logger: Logger) {
    this.ping = ping;
    this.deadlineMs = deadlineMs;
    this.logger = logger;
  }

  get ready(): boolean {
    return this.reachable;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async check(): Promise<boolean> {
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.ping(),
        new Promise((_, reject) => {
          deadline = setTimeout(() => reject(new Error("readiness check timed out")), this.deadlineMs);
        }),
      ]);
      if (!this.reachable) this.logger.info("database reachable again");
      this.reachable = true;
    } catch (error) {
      if (this.reachable) this.logger.error({ err: error }, "database unreachable");
      this.reachable = false;
    } finally {
      clearTimeout(deadline);
    }
    return this.reachable;
  }
}
