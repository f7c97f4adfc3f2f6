/**
 * Micro-benchmark of reading Envoy's CheckRequest: the gRPC fast path's walker
 * (checkFactsFromBytes) against protobuf-es's full decode plus checkFactsOf
 * (Connect's path), on the same Envoy-shaped request, in the same process and
 * run. Not part of `npm run bench`; BENCHMARKS.md cites it (finding 8).
 *
 *   scripts/node24.sh node bench/walk-check-request.ts [calls=500000] [rounds=5]
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { CheckRequestSchema } from "../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { type CheckFacts, checkFactsFromBytes, checkFactsOf } from "../src/rpc/envoy/check-request.ts";
import { checkRequest } from "./support/grpc-frames.ts";
import { median } from "./support/stats.ts";

const [calls = 500_000, rounds = 5] = process.argv.slice(2).map(Number);
// A token of the size Gatehouse issues (ES256, ≈ 550 characters), framed as the fast path sees it.
const token = `eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.${"x".repeat(470)}.${"s".repeat(86)}`;
const message = toBinary(CheckRequestSchema, checkRequest(token, "orders"));
const bytes = Buffer.concat([Buffer.alloc(5), message]).subarray(5);

function perCall(read: (bytes: Uint8Array) => CheckFacts): number {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < calls; i++) sink += read(bytes).host.length;
  const elapsed = performance.now() - started;
  if (sink === 0) throw new Error("nothing read");
  return (elapsed * 1000) / calls;
}

const fullDecode = (input: Uint8Array) => checkFactsOf(fromBinary(CheckRequestSchema, input));
const rows: Array<{ walker: number; full: number }> = [];
for (let round = 0; round < rounds; round++) {
  rows.push({ walker: perCall(checkFactsFromBytes), full: perCall(fullDecode) });
}
const walker = median(rows.map((row) => row.walker));
const full = median(rows.map((row) => row.full));
console.log(
  JSON.stringify({
    requestBytes: message.length,
    calls,
    rounds,
    walkerMicrosPerCall: Number(walker.toFixed(3)),
    fullDecodeMicrosPerCall: Number(full.toFixed(3)),
    walkerOverFullDecode: Number((walker / full).toFixed(3)),
  }),
);
