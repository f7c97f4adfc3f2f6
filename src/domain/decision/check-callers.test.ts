import { describe, expect, it } from "vitest";
import { checkCallerPolicy } from "./check-callers.ts";

describe("checkCallerPolicy", () => {
  const allowed = checkCallerPolicy([
    "spiffe://cluster.local/ns/shop/sa/checkout",
    "spiffe://cluster.local/ns/billing/*",
  ]);

  it("allows an exact id and ids below a /* prefix", () => {
    expect(allowed("spiffe://cluster.local/ns/shop/sa/checkout")).toBe(true);
    expect(allowed("spiffe://cluster.local/ns/billing/sa/invoices")).toBe(true);
  });

  it("refuses other ids, look-alikes, the bare prefix and a caller without an id", () => {
    expect(allowed("spiffe://cluster.local/ns/shop/sa/checkout-evil")).toBe(false);
    expect(allowed("spiffe://cluster.local/ns/shop/sa/cart")).toBe(false);
    expect(allowed("spiffe://cluster.local/ns/billing-evil/sa/x")).toBe(false);
    expect(allowed("spiffe://cluster.local/ns/billing")).toBe(false);
    expect(allowed("spiffe://other.domain/ns/shop/sa/checkout")).toBe(false);
    expect(allowed(undefined)).toBe(false);
  });
});
