import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { entryAssociatedData, VaultKeyring, VaultSealError } from "./vault-keyring.ts";

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const alice = { userId: "11111111-1111-4111-8111-111111111111", clientId: "gatehouse", purpose: "reports" };
const aad = (identity = alice, part: "stored_token" | "access_token" = "stored_token") =>
  entryAssociatedData(identity, part);

function openError(run: () => unknown): VaultSealError {
  try {
    run();
  } catch (error) {
    if (error instanceof VaultSealError) return error;
    throw error;
  }
  throw new Error("opened");
}

describe("VaultKeyring", () => {
  const ring = new VaultKeyring(new Map([["k1", k1]]), "k1");

  it("seals under the active key with a fresh nonce, and opens", () => {
    const first = ring.seal("refresh-token-value", aad());
    const second = ring.seal("refresh-token-value", aad());
    expect(first.keyId).toBe("k1");
    expect(Buffer.from(first.ciphertext).equals(Buffer.from(second.ciphertext))).toBe(false);
    expect(Buffer.from(first.ciphertext).subarray(1, 13)).not.toEqual(
      Buffer.from(second.ciphertext).subarray(1, 13),
    );
    expect(Buffer.from(first.ciphertext).includes(Buffer.from("refresh-token-value"))).toBe(false);
    expect(ring.open(first, aad())).toBe("refresh-token-value");
  });

  it("refuses a ciphertext with any one byte changed", () => {
    const sealed = ring.seal("refresh-token-value", aad());
    for (let index = 0; index < sealed.ciphertext.length; index++) {
      const tampered = Buffer.from(sealed.ciphertext);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(openError(() => ring.open({ ...sealed, ciphertext: tampered }, aad())).reason).toBe(
        "unreadable",
      );
    }
  });

  it("refuses a ciphertext moved to another entry or to the other column", () => {
    const sealed = ring.seal("refresh-token-value", aad());
    for (const other of [
      { ...alice, userId: "22222222-2222-4222-8222-222222222222" },
      { ...alice, clientId: "other-client" },
      { ...alice, purpose: "backups" },
    ]) {
      expect(openError(() => ring.open(sealed, aad(other))).reason).toBe("unreadable");
    }
    expect(openError(() => ring.open(sealed, aad(alice, "access_token"))).reason).toBe("unreadable");
  });

  it("does not confuse field boundaries in the associated data", () => {
    const a = { userId: "u", clientId: "a\u0000b", purpose: "c" };
    const b = { userId: "u", clientId: "a", purpose: "b\u0000c" };
    expect(aad(a).equals(aad(b))).toBe(false);
  });

  it("refuses a truncated or unknown-format value", () => {
    const sealed = ring.seal("x", aad());
    expect(
      openError(() => ring.open({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }, aad())).reason,
    ).toBe("unreadable");
    const otherFormat = Buffer.from(sealed.ciphertext);
    otherFormat[0] = 0x02;
    expect(openError(() => ring.open({ ...sealed, ciphertext: otherFormat }, aad())).reason).toBe(
      "unreadable",
    );
  });

  it("names a key id missing from the ring", () => {
    const error = openError(() => ring.open({ keyId: "k0", ciphertext: Buffer.alloc(40) }, aad()));
    expect(error.reason).toBe("unknown_key");
    expect(error.message).toContain('"k0"');
  });

  it("refuses the same id with other key material", () => {
    const sealed = ring.seal("x", aad());
    const impostor = new VaultKeyring(new Map([["k1", k2]]), "k1");
    expect(openError(() => impostor.open(sealed, aad())).reason).toBe("unreadable");
  });

  it("rotates: a new active key seals, old keys still open, reseal moves a value to the active key", () => {
    const old = ring.seal("refresh-token-value", aad());
    const rotated = new VaultKeyring(
      new Map([
        ["k1", k1],
        ["k2", k2],
      ]),
      "k2",
    );
    expect(rotated.open(old, aad())).toBe("refresh-token-value");
    const moved = rotated.reseal(old, aad());
    expect(moved.keyId).toBe("k2");
    const withoutOld = new VaultKeyring(new Map([["k2", k2]]), "k2");
    expect(withoutOld.open(moved, aad())).toBe("refresh-token-value");
    expect(openError(() => withoutOld.open(old, aad())).reason).toBe("unknown_key");
  });

  it("knows when it has no keys", () => {
    const empty = new VaultKeyring(new Map(), undefined);
    expect(empty.configured).toBe(false);
    expect(() => empty.seal("x", aad())).toThrow(/no keys/);
    expect(() => new VaultKeyring(new Map([["k1", Buffer.alloc(16)]]), "k1")).toThrow(/32 bytes/);
    expect(() => new VaultKeyring(new Map([["k1", k1]]), "k9")).toThrow(/k9/);
  });
});
