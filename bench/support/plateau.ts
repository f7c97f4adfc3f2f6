import type { LoadRun } from "./load-run.ts";

export interface PlateauStep {
  readonly step: number;
  readonly throughput: number;
  readonly serverCores: number;
}

/**
 * Warms a server (a JVM's JIT, its caches) with short load runs until its
 * throughput stops rising: done when `settled` runs in a row stay within
 * `tolerance` of the best run so far (none sets a new best by more than
 * that) and at least `minRequests` have been served in all, or after
 * `maxSteps` runs. The request floor matters: on a starved machine a cold JVM
 * is flat too (each run a few hundred requests, too few to get anything
 * compiled), and that is no plateau. Returns every step, so the curve is
 * reported rather than assumed.
 */
export async function warmUntilPlateau(
  run: () => Promise<LoadRun>,
  options: {
    readonly maxSteps: number;
    readonly minRequests: number;
    readonly settled?: number;
    readonly tolerance?: number;
  },
  log: (message: string) => void,
): Promise<{ readonly steps: readonly PlateauStep[]; readonly reached: boolean }> {
  const settled = options.settled ?? 2;
  const tolerance = options.tolerance ?? 0.05;
  const steps: PlateauStep[] = [];
  let best = 0;
  let flat = 0;
  let served = 0;
  for (let step = 1; step <= options.maxSteps; step++) {
    const result = await run();
    const throughput = result.requests / result.durationS;
    served += result.requests;
    steps.push({ step, throughput, serverCores: result.cpu.serverCores });
    log(
      `  warm-up ${step}: ${Math.round(throughput)} req/s, ${result.cpu.serverCores.toFixed(2)} server cores`,
    );
    if (throughput > best * (1 + tolerance)) {
      best = throughput;
      flat = 0;
    } else if (++flat >= settled && served >= options.minRequests) {
      return { steps, reached: true };
    } else {
      best = Math.max(best, throughput);
    }
  }
  return { steps, reached: false };
}
