/**
 * Micro-benchmark of how a call's AbortSignal is ended: `abort()` with no
 * reason (Node builds a new DOMException, capturing a stack trace, as
 * connect-es and connect-node did at the end of every call) against
 * `abort(shared)` (the patched connect-es / connect-node). Alternated in one
 * process. Not part of `npm run bench`; BENCHMARKS.md cites it (finding 13).
 *
 *   scripts/node24.sh node bench/abort-reason.ts [calls=200000] [rounds=5]
 */
import { median } from "./support/stats.ts";

const [calls = 200_000, rounds = 5] = process.argv.slice(2).map(Number);
const shared = new DOMException("This operation was aborted", "AbortError");

function microsPerCall(end: (controller: AbortController) => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) end(new AbortController());
  return Number(process.hrtime.bigint() - started) / calls / 1000;
}
const fresh = (controller: AbortController) => controller.abort();
const reused = (controller: AbortController) => controller.abort(shared);

microsPerCall(fresh);
microsPerCall(reused);
const freshTimes: number[] = [];
const reusedTimes: number[] = [];
for (let round = 0; round < rounds; round++) {
  freshTimes.push(microsPerCall(fresh));
  reusedTimes.push(microsPerCall(reused));
}
console.log(
  `new AbortController + abort(): ${median(freshTimes).toFixed(2)} µs; + abort(shared reason): ${median(reusedTimes).toFixed(2)} µs (median of ${rounds} × ${calls})`,
);
