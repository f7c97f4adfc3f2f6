import type { LoadRun } from "./load-run.ts";

/**
 * Runs each configuration `rounds` times, interleaved and in alternating
 * order (A B, B A, …), so that drift in the machine's speed — other work
 * starting or stopping — falls on a baseline and its subject alike.
 */
export async function interleave<T extends LoadRun>(
  rounds: number,
  configurations: ReadonlyArray<() => Promise<T>>,
): Promise<T[][]> {
  const results: T[][] = configurations.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = configurations.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) results[index]!.push(await configurations[index]!());
  }
  return results;
}
