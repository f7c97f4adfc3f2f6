import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/** Busy CPU seconds of the whole machine since boot (every core; idle and iowait excluded). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, ...fields] = line.trim().split(/\s+/);
  const values = fields.map(Number);
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return (total - values[3]! - values[4]!) / TICKS_PER_SECOND;
}

/** User + system CPU seconds of one process (0 once it is gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * Where the CPU went during a measurement: the server, the load generator,
 * and everything else on the machine (other engineers' tests, say) — the
 * last one tells a reader whether a figure was taken on a quiet machine.
 */
export interface CpuSplit {
  readonly serverCores: number;
  readonly generatorCores: number;
  readonly otherCores: number;
}

export class CpuMeter {
  private readonly serverPids: readonly number[];
  private readonly started = performance.now();
  private readonly machineAtStart = machineBusySeconds();
  private readonly serversAtStart: number;
  private generatorSeconds = 0;
  private generatorPid: number | undefined;
  private generatorBase = 0;
  private readonly poll: NodeJS.Timeout;

  constructor(serverPids: readonly number[]) {
    this.serverPids = serverPids;
    this.serversAtStart = this.serversSeconds();
    // A generator's counters vanish when it exits: keep the last reading.
    this.poll = setInterval(() => {
      if (this.generatorPid !== undefined) {
        const seconds = processCpuSeconds(this.generatorPid);
        if (seconds > 0) this.generatorSeconds = seconds - this.generatorBase;
      }
    }, 100);
  }

  private serversSeconds(): number {
    return this.serverPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  }

  watchGenerator(pid: number): void {
    this.generatorPid = pid;
    this.generatorBase = processCpuSeconds(pid);
  }

  /** Generators that measure themselves (the Node one) report their own figure. */
  setGeneratorSeconds(seconds: number): void {
    this.generatorSeconds = seconds;
  }

  stop(): CpuSplit {
    clearInterval(this.poll);
    const elapsed = (performance.now() - this.started) / 1000;
    const machine = machineBusySeconds() - this.machineAtStart;
    const server = this.serversSeconds() - this.serversAtStart;
    return {
      serverCores: server / elapsed,
      generatorCores: this.generatorSeconds / elapsed,
      otherCores: Math.max(0, machine - server - this.generatorSeconds) / elapsed,
    };
  }
}
