import { describe, expect, it } from "vitest";
import { parseKeyEncryptionKey, Sealer } from "./sealer.ts";

const ROOT = Buffer.alloc(32, 1);

describe("Sealer", () => {
  it("opens what it sealed, for the same row and purpose only", () => {
    const sealer = new Sealer(ROOT, "totp-secrets");
    const sealed = sealer.seal("JBSWY3DPEHPK3PXP", "user-1");
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(sealer.open(sealed, "user-1")).toBe("JBSWY3DPEHPK3PXP");
    // Fresh IV each time.
    expect(sealer.seal("JBSWY3DPEHPK3PXP", "user-1")).not.toBe(sealed);
    expect(() => sealer.open(sealed, "user-2")).toThrow();
    expect(() => new Sealer(ROOT, "signing-keys").open(sealed, "user-1")).toThrow();
    expect(() => new Sealer(Buffer.alloc(32, 2), "totp-secrets").open(sealed, "user-1")).toThrow();
  });

  it("detects tampering", () => {
    const sealer = new Sealer(ROOT, "refresh-grace");
    const sealed = sealer.seal("a pair of tokens", "row");
    const bytes = Buffer.from(sealed.slice(3), "base64url");
    bytes[bytes.length - 1]! ^= 1;
    expect(() => sealer.open(`v1.${bytes.toString("base64url")}`, "row")).toThrow();
    expect(() => sealer.open(`v2.${sealed.slice(3)}`, "row")).toThrow();
  });

  it("keys MACs by purpose", () => {
    expect(new Sealer(ROOT, "recovery-codes").mac("abc")).toMatch(/^[0-9a-f]{64}$/);
    expect(new Sealer(ROOT, "recovery-codes").mac("abc")).not.toBe(new Sealer(ROOT, "other").mac("abc"));
  });

  it("parses 32-byte keys given as hex or base64", () => {
    expect(parseKeyEncryptionKey("ab".repeat(32))).toHaveLength(32);
    expect(parseKeyEncryptionKey(Buffer.alloc(32, 9).toString("base64"))).toHaveLength(32);
    expect(parseKeyEncryptionKey("too short")).toBeUndefined();
  });
});
