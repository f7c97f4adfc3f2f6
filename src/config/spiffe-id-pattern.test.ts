import { describe, expect, it } from "vitest";
import { isSpiffeIdPattern } from "./spiffe-id-pattern.ts";

describe("isSpiffeIdPattern", () => {
  it("accepts SPIFFE ids and /* prefixes, and nothing else", () => {
    expect(isSpiffeIdPattern("spiffe://cluster.local/ns/shop/sa/checkout")).toBe(true);
    expect(isSpiffeIdPattern("spiffe://cluster.local/ns/shop/*")).toBe(true);
    expect(isSpiffeIdPattern("spiffe://cluster.local")).toBe(false);
    expect(isSpiffeIdPattern("spiffe://cluster.local/*")).toBe(true);
    expect(isSpiffeIdPattern("https://cluster.local/ns/shop")).toBe(false);
    expect(isSpiffeIdPattern("spiffe://cluster.local/ns/*/sa/x")).toBe(false);
    expect(isSpiffeIdPattern("*")).toBe(false);
  });
});
