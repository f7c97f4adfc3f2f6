import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.ts";

describe("Metrics", () => {
  it("counts decisions by outcome and reason", async () => {
    const metrics = new Metrics();
    metrics.countDecision("allowed", "");
    metrics.countDecision("allowed", "");
    metrics.countDecision("unauthenticated", "invalid_signature");
    const text = await metrics.registry.metrics();
    expect(text).toContain('gatehouse_decisions_total{outcome="allowed",reason=""} 2');
    expect(text).toContain(
      'gatehouse_decisions_total{outcome="unauthenticated",reason="invalid_signature"} 1',
    );
  });
});
