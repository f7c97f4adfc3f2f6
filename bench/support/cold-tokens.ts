import { checkFrame } from "./grpc-frames.ts";
import type { TokenMinter } from "./token-minter.ts";

/** Pre-encoded Check frames, each with a token never sent before. */
export function distinctCheckFrames(
  count: number,
  minter: TokenMinter,
  service: string,
  kind: "valid" | "forged",
): Buffer[] {
  const frames: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) {
    frames[i] = checkFrame(kind === "valid" ? minter.mint() : minter.forge(), service, "viewer");
  }
  return frames;
}

/**
 * How many distinct tokens a run may need: the fastest rate seen so far
 * (with a floor) over the warm-up and the window, with half again to spare.
 * A generator that runs out stops early and reports the shorter window.
 */
export function framesNeeded(observedRate: number, durationS: number, warmupS: number): number {
  return Math.ceil(Math.max(observedRate, 3000) * (durationS + warmupS) * 1.5);
}
