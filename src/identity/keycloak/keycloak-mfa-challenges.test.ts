import { describe, expect, it } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { hashOpaqueToken } from "../../domain/opaque-token.ts";
import { KeycloakMfaChallenges } from "./keycloak-mfa-challenges.ts";

const pending = { userId: "u1", login: "alice", password: "Correct-horse-battery-9" };

describe("Keycloak MFA challenges", () => {
  it("keeps the password sealed: the store holds no plaintext, only the token opens it", async () => {
    const store = new MemoryCoordinationStore();
    const challenges = new KeycloakMfaChallenges(store, 60_000);
    const { mfaToken } = await challenges.create(pending);
    const stored = await store.get(`kc:mfa:${hashOpaqueToken(mfaToken)}`);
    expect(stored).toBeDefined();
    expect(stored).not.toContain(pending.password);
    expect(await challenges.open(mfaToken)).toEqual(pending);
    expect(await challenges.open(`${mfaToken.slice(0, -2)}AA`)).toBeUndefined();
  });

  it("is single use and voided after five wrong answers", async () => {
    const challenges = new KeycloakMfaChallenges(new MemoryCoordinationStore(), 60_000);
    const used = await challenges.create(pending);
    expect(await challenges.finish(used.mfaToken)).toBe(true);
    expect(await challenges.finish(used.mfaToken)).toBe(false);
    expect(await challenges.open(used.mfaToken)).toBeUndefined();

    const guessed = await challenges.create(pending);
    for (let attempt = 0; attempt < 5; attempt++)
      expect(await challenges.open(guessed.mfaToken)).toBeDefined();
    expect(await challenges.open(guessed.mfaToken)).toBeUndefined();
    expect(await challenges.open(guessed.mfaToken)).toBeUndefined();
  });
});
