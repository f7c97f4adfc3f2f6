import { describe, expect, it } from "vitest";
import { clientAddress } from "./client-address.ts";

describe("clientAddress", () => {
  it("is the socket peer when no proxy is trusted, whatever the header says", () => {
    expect(clientAddress("10.0.0.9", "1.2.3.4", 0)).toBe("10.0.0.9");
  });

  it("takes the entry written by the outermost trusted proxy", () => {
    // client 203.0.113.7 → ingress (appends 203.0.113.7) → envoy (appends ingress 10.0.0.2) → us
    expect(clientAddress("10.0.0.3", "203.0.113.7, 10.0.0.2", 2)).toBe("203.0.113.7");
    expect(clientAddress("10.0.0.3", "203.0.113.7, 10.0.0.2", 1)).toBe("10.0.0.2");
  });

  it("ignores addresses a client prepends to forge its identity", () => {
    expect(clientAddress("10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", 2)).toBe("203.0.113.7");
  });

  it("falls back sensibly when the header is shorter than the trusted chain", () => {
    expect(clientAddress("10.0.0.3", "203.0.113.7", 2)).toBe("203.0.113.7");
    expect(clientAddress("10.0.0.3", undefined, 2)).toBe("10.0.0.3");
  });
});
