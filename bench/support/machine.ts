import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly h2load: string;
  readonly postgres: string;
  readonly redis: string;
  /** 1-minute load average when the run started: other work on the machine shows up here. */
  readonly loadAverageAtStart: number;
}

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unavailable";
  }
}

function cpuModel(): string {
  try {
    const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
    const name = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
    if (name !== undefined) return name;
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? "unknown";
}

export function describeMachine(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    h2load: tryRun("h2load", ["--version"]),
    postgres: tryRun("psql", ["-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]),
    redis:
      tryRun("redis-server", ["--version"])
        .split(" ")
        .find((part) => part.startsWith("v=")) ?? "unknown",
    loadAverageAtStart: os.loadavg()[0]!,
  };
}
