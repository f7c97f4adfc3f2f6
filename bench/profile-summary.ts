/**
 * Summarizes a V8 CPU profile (`--cpu-prof`, as `npm run bench -- --profile` writes):
 * self time by code area and by function, so that before/after comparisons
 * in BENCHMARKS.md can be reproduced without a flame-graph viewer.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [--top N] [--per-call REQUESTS] [--last SECONDS]
 *
 * --last counts only the samples of the profile's last SECONDS (the load, without the
 * start-up's module loading and seeding).
 * With --per-call, each row also shows its self time divided by the number of
 * requests served while profiling (µs per call).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Which part of the system a frame belongs to: a package, Node's internals, our sources, or V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const inModules = url.lastIndexOf("/node_modules/");
  if (inModules >= 0) {
    const rest = url.slice(inModules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[1] ?? url.slice(5)}`;
  const src = url.indexOf("/src/");
  if (src >= 0)
    return `src/${
      url
        .slice(src + 5)
        .split("/")
        .slice(0, -1)
        .join("/") || "."
    }`;
  return url;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  if (file === undefined) {
    process.stderr.write(
      "usage: node bench/profile-summary.ts <file.cpuprofile> [--top N] [--per-call REQUESTS] [--last SECONDS]\n",
    );
    process.exit(2);
  }
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : undefined;
  };
  const top = option("--top") ?? 25;
  const calls = option("--per-call");
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const last = option("--last");
  const from = last === undefined ? Number.NEGATIVE_INFINITY : profile.endTime - last * 1e6;
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at < from) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame.url, frame.functionName);
    if (area === "(idle)") continue;
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where =
      frame.url === "" ? "" : ` ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`;
    const name = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const wall = profile.endTime - profile.startTime;
  const row = (label: string, us: number) => {
    const share = ((100 * us) / busy).toFixed(1).padStart(5);
    const perCall = calls === undefined ? "" : `  ${(us / calls).toFixed(1).padStart(7)} µs/call`;
    return `${share}%  ${(us / 1000).toFixed(0).padStart(7)} ms${perCall}  ${label}`;
  };
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  console.log(`${file}\nwall ${(wall / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s\n\nby area:`);
  for (const [area, us] of sorted(areas).slice(0, top)) console.log(row(area, us));
  console.log("\nby function (self time):");
  for (const [name, us] of sorted(functions).slice(0, top)) console.log(row(name, us));
}

if (import.meta.url === `file://${process.argv[1]}`) main();
