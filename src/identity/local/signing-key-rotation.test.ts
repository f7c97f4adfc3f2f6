import { decodeProtectedHeader } from "jose";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { MemorySigningKeyStore } from "../../../test/support/fakes/memory-signing-key-store.ts";
import { AccessTokens } from "./access-tokens.ts";
import { Sealer } from "./sealer.ts";
import { ROTATION_PUBLISH_AHEAD_MS, SigningKeyRing } from "./signing-key-ring.ts";

const DAY = 86_400_000;

/** On-demand rotation (RotateSigningKeys): publish now, sign after the JWKS caches have it, break nothing. */
describe("SigningKeyRing.rotate", () => {
  let now: number;
  let store: MemorySigningKeyStore;
  const clock = () => now;
  const newRing = () =>
    new SigningKeyRing(store, new Sealer(Buffer.alloc(32, 7), "signing-keys"), pino({ level: "silent" }), {
      rotationMs: 30 * DAY,
      verifyAfterRetirementMs: 600_000,
      now: clock,
    });
  const tokensOf = (ring: SigningKeyRing) =>
    new AccessTokens(ring, {
      issuer: "https://gh.test",
      audience: "gh",
      ttlSeconds: 300,
      clockSkewSeconds: 0,
      now: clock,
    });
  const kidOf = async (tokens: AccessTokens) =>
    decodeProtectedHeader(
      (await tokens.issue({ kind: "user", subjectId: "u", sessionId: "s", clientId: "c" })).token,
    ).kid;

  beforeEach(() => {
    now = Date.parse("2026-03-01T00:00:00Z");
    store = new MemorySigningKeyStore();
  });

  it("publishes the successor at once and signs with it only after the publish-ahead time", async () => {
    const ring = newRing();
    await ring.maintain();
    const tokens = tokensOf(ring);
    const before = await kidOf(tokens);

    const rotated = await ring.rotate();
    expect(rotated.activatesAt.getTime()).toBe(now + ROTATION_PUBLISH_AHEAD_MS);
    expect(rotated.previousRetiresAt).toEqual(rotated.activatesAt);
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([rotated.kid, before]);
    expect(await kidOf(tokens)).toBe(before);

    now += ROTATION_PUBLISH_AHEAD_MS - 1000;
    const lastOfOldKey = (await tokens.issue({ kind: "user", subjectId: "u", sessionId: "s", clientId: "c" }))
      .token;
    expect(decodeProtectedHeader(lastOfOldKey).kid).toBe(before);
    now += 1000;
    expect(await kidOf(tokens)).toBe(rotated.kid);
    // What the old key signed still verifies.
    await expect(tokens.verifyAccessToken(lastOfOldKey)).resolves.toMatchObject({ subjectId: "u" });
  });

  it("is idempotent, on this replica and another", async () => {
    const ring = newRing();
    await ring.maintain();
    const first = await ring.rotate();
    expect((await ring.rotate()).kid).toBe(first.kid);
    const other = newRing();
    expect((await other.rotate()).kid).toBe(first.kid);
  });

  it("leaves no instant without an active key when two replicas rotate at once", async () => {
    const a = newRing();
    const b = newRing();
    await a.maintain();
    await b.maintain();
    const [fromA, fromB] = await Promise.all([a.rotate(), b.rotate()]);
    expect(fromA.kid).toBe(fromB.kid);
    for (const step of [ROTATION_PUBLISH_AHEAD_MS - 1, 1, DAY]) {
      now += step;
      await expect(a.signingKey()).resolves.toBeDefined();
      await expect(b.signingKey()).resolves.toBeDefined();
    }
  });
});
