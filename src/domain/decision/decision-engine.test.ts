import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryChangeLog } from "../../../test/support/fakes/memory-change-log.ts";
import { serviceRecord } from "../../../test/support/fakes/service-record.ts";
import { serviceSourceOf } from "../../../test/support/fakes/service-source.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { ChangeFeed } from "../change-feed/change-feed.ts";
import { DomainError } from "../errors.ts";
import type { ServiceRecord } from "../registry/service-record.ts";
import { RevocationRegistry } from "../revocation/revocation-registry.ts";
import type { AccessTokenClaims, AccessTokenVerifier } from "../tokens/access-token.ts";
import { AccessDirectory } from "./access-directory.ts";
import { DecisionEngine } from "./decision-engine.ts";
import { ServiceDirectory } from "./service-directory.ts";
import type { AccessRepository, SubjectAccess } from "./subject-access.ts";

const NOW = 1_800_000_000_000;
const claims = (overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
  kind: "user",
  subjectId: "u1",
  sessionId: "s1",
  tokenId: "t1",
  clientId: "gatehouse",
  issuedAt: NOW / 1000 - 10,
  expiresAt: NOW / 1000 + 300,
  ...overrides,
});

const service = serviceRecord;

const b64 = (text: string) => Buffer.from(text).toString("base64url");
/** A canonical compact JWS standing for `name`; the signature segment is `signature`'s encoding. */
const jws = (name: string, signature = name) => `e30.${b64(name)}.${b64(signature)}`;

/** Verifies jws(<name>) by looking the name up in a table, counting calls. */
class TableVerifier implements AccessTokenVerifier {
  readonly table = new Map<string, AccessTokenClaims | DomainError>();
  calls = 0;
  async verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    this.calls++;
    const entry = this.table.get(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    if (entry === undefined) throw new DomainError("unauthenticated", "invalid_signature", "bad signature");
    if (entry instanceof DomainError) throw entry;
    return entry;
  }
}

class TableAccess implements AccessRepository {
  readonly users = new Map<string, SubjectAccess>();
  loads = 0;
  /** While set, loading a subject waits for it. */
  gate: Promise<void> | undefined;
  async loadUser(id: string) {
    this.loads++;
    await this.gate;
    return this.users.get(id);
  }
  async loadServiceAccount(id: string) {
    this.loads++;
    return this.users.get(id);
  }
}

const subject = (grants: Record<string, string[]>, active = true): SubjectAccess => ({
  kind: "user",
  id: "u1",
  active,
  name: "alice",
  grants: new Map(Object.entries(grants)),
  user: undefined,
});

describe("DecisionEngine", () => {
  let verifier: TableVerifier;
  let access: TableAccess;
  let services: ServiceRecord[];
  let feed: ChangeFeed;
  let revocations: RevocationRegistry;
  let engine: DecisionEngine;
  let directory: ServiceDirectory;
  let store: MemoryCoordinationStore;
  let now: number;

  beforeEach(async () => {
    now = NOW;
    verifier = new TableVerifier();
    access = new TableAccess();
    services = [service()];
    store = new MemoryCoordinationStore();
    const log = new MemoryChangeLog();
    log.now = () => now;
    feed = new ChangeFeed(log, store, createLogger("silent"), {
      pollIntervalMs: 60_000,
      degradedPollIntervalMs: 1000,
    });
    revocations = new RevocationRegistry(feed, 3_600_000, () => now);
    directory = new ServiceDirectory(
      serviceSourceOf(() => services),
      new Map([["legacy.internal", "billing"]]),
      feed,
    );
    engine = new DecisionEngine(
      {
        verifier,
        revocations,
        access: new AccessDirectory(access, feed, { maxEntries: 100, ttlMs: 60_000 }),
        services: directory,
        changes: feed,
      },
      { tokenCacheSize: 100, clockSkewSeconds: 30, now: () => now },
    );
    await feed.start();
    verifier.table.set("good", claims());
    access.users.set("u1", subject({ "svc-a": ["editor"] }));
  });

  afterEach(async () => {
    await feed.close();
    revocations.close();
    await store.close();
  });

  const decide = (token: string | undefined, extra: object = {}) =>
    engine.decide({
      token: token === undefined ? undefined : jws(token),
      service: { key: "billing" },
      ...extra,
    });

  it("allows a valid token with a grant and reports the highest role", async () => {
    const decision = await decide("good");
    expect(decision).toMatchObject({ outcome: "allowed", role: "editor" });
  });

  it("finds the service by id, slug, registered host and configured host", async () => {
    for (const selector of [
      { key: "svc-a" },
      { key: "billing" },
      { host: "billing.internal:8443" },
      { host: "legacy.internal" },
    ]) {
      expect(await engine.decide({ token: jws("good"), service: selector })).toMatchObject({
        outcome: "allowed",
      });
    }
    expect(await engine.decide({ token: jws("good"), service: { host: "other.internal" } })).toMatchObject({
      outcome: "denied",
      reason: "unknown_service",
    });
  });

  it("compares roles by the service's order", async () => {
    expect(await decide("good", { requiredRole: "viewer" })).toMatchObject({ outcome: "allowed" });
    expect(await decide("good", { requiredRole: "editor" })).toMatchObject({ outcome: "allowed" });
    expect(await decide("good", { requiredRole: "owner" })).toMatchObject({
      outcome: "denied",
      reason: "insufficient_role",
      role: "editor",
    });
    expect(await decide("good", { requiredRole: "admin" })).toMatchObject({
      outcome: "denied",
      reason: "unknown_role",
    });
  });

  it("denies without a grant, for a disabled service, and without a token", async () => {
    access.users.set("u1", subject({}));
    expect(await decide("good")).toMatchObject({ outcome: "denied", reason: "no_grant" });
    expect(await decide(undefined)).toMatchObject({ outcome: "unauthenticated", reason: "missing_token" });
    expect(await engine.decide({ token: undefined, malformedCredentials: true })).toMatchObject({
      reason: "malformed_authorization",
    });
  });

  it("denies a disabled service even to a holder of a grant", async () => {
    expect(await decide("good")).toMatchObject({ outcome: "allowed" });
    expect(await decide("good")).toMatchObject({ outcome: "allowed" }); // remembered
    services = [service({ status: "disabled" })];
    await feed.publish({ kind: "services_changed", key: "*", value: 0, expiresAt: now + 1000 });
    await directory.whenCurrent();
    // Swapped in: the remembered answer made from the old directory is gone too.
    expect(await decide("good")).toMatchObject({ outcome: "denied", reason: "service_disabled" });
  });

  it("denies a service disabled by a change naming it, read alone, and forgets the answers remembered before", async () => {
    expect(await decide("good")).toMatchObject({ outcome: "allowed" });
    expect(await decide("good")).toMatchObject({ outcome: "allowed" }); // remembered
    services = [service({ status: "disabled", version: 2 })];
    await feed.publish({ kind: "services_changed", key: "svc-a", value: 2, expiresAt: now + 1000 });
    await directory.whenCurrent();
    expect(await decide("good")).toMatchObject({ outcome: "denied", reason: "service_disabled" });
  });

  it("decides from the directory in place while the registry reloads, and forgets those answers at the swap", async () => {
    let release!: () => void;
    let gate: Promise<void> | undefined;
    const gated = new ServiceDirectory(
      {
        async loadAll() {
          const snapshot = services;
          await gate;
          return { version: 0, services: snapshot };
        },
        loadOne: async () => undefined,
        latestVersion: async () => 0,
      },
      new Map(),
      feed,
    );
    const gatedEngine = new DecisionEngine(
      {
        verifier,
        revocations,
        access: new AccessDirectory(access, feed, { maxEntries: 100, ttlMs: 60_000 }),
        services: gated,
        changes: feed,
      },
      { tokenCacheSize: 100, clockSkewSeconds: 30, now: () => now },
    );
    const question = { token: jws("good"), service: { key: "billing" } };
    expect(await gatedEngine.decide(question)).toMatchObject({ outcome: "allowed" });
    gate = new Promise((resolve) => {
      release = resolve;
    });
    services = [service({ status: "disabled" })];
    await feed.publish({ kind: "services_changed", key: "*", value: 0, expiresAt: now + 1000 });
    // The reload is held: decisions go on from the directory in place (and are remembered)…
    expect(await gatedEngine.decide(question)).toMatchObject({ outcome: "allowed" });
    expect(await gatedEngine.decide(question)).toMatchObject({ outcome: "allowed" });
    expect(gatedEngine.rememberedDecisions()).toBe(1);
    release();
    await gated.whenCurrent();
    // …until the swap, which drops what was remembered from the old directory.
    expect(await gatedEngine.decide(question)).toMatchObject({
      outcome: "denied",
      reason: "service_disabled",
    });
  });

  it("rejects invalid tokens with the verifier's reason and remembers permanent failures", async () => {
    expect(await decide("forged")).toMatchObject({ outcome: "unauthenticated", reason: "invalid_signature" });
    expect(await decide("forged")).toMatchObject({ outcome: "unauthenticated", reason: "invalid_signature" });
    expect(verifier.calls).toBe(1);
  });

  it("refuses every non-canonical encoding of a valid token without asking the verifier", async () => {
    const token = jws("good"); // "e30.Z29vZA.Z29vZA": the last segment ends in 2 bits of padding
    const lastValue = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".indexOf(
      token.at(-1)!,
    );
    const flipped = `${token.slice(0, -1)}${"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[lastValue ^ 1]}`;
    const variants = [
      `${token}==`,
      `${token}=`,
      flipped,
      token.replace("Z29vZA.", "Z29vZB."),
      `${token}.`,
      token.replace(/\./, ".."),
      `e30+.${token.slice(4)}`,
      token.replace(/^e30\./, "e30AA."),
    ];
    for (const variant of variants) {
      expect(await engine.decide({ token: variant, service: { key: "billing" } }), variant).toMatchObject({
        outcome: "unauthenticated",
        reason: "malformed_token",
      });
    }
    expect(verifier.calls).toBe(0);
    expect(await decide("good")).toMatchObject({ outcome: "allowed" });
  });

  it("verifies a token once, then answers from memory until it expires", async () => {
    await decide("good");
    await decide("good");
    expect(verifier.calls).toBe(1);
    expect(access.loads).toBe(1);
    now = (claims().expiresAt + 31) * 1000;
    expect(await decide("good")).toMatchObject({ outcome: "unauthenticated", reason: "token_expired" });
  });

  it("rejects a revoked session, token and subject at once", async () => {
    await decide("good");
    await revocations.revokeSession("s1", new Date(now + 300_000));
    expect(await decide("good")).toMatchObject({ outcome: "unauthenticated", reason: "session_revoked" });

    verifier.table.set("other", claims({ sessionId: "s2", tokenId: "t2" }));
    await revocations.revokeToken("t2", new Date(now + 300_000));
    expect(await decide("other")).toMatchObject({ reason: "token_revoked" });

    verifier.table.set("third", claims({ sessionId: "s3", tokenId: "t3" }));
    await revocations.revokeSubjectTokensIssuedBefore("u1", new Date(now));
    expect(await decide("third")).toMatchObject({ reason: "subject_revoked" });
    verifier.table.set("later", claims({ sessionId: "s4", tokenId: "t4", issuedAt: now / 1000 + 5 }));
    expect(await decide("later")).toMatchObject({ outcome: "allowed" });
  });

  it("sees a grant change on the next decision after the feed announces it", async () => {
    expect(await decide("good")).toMatchObject({ outcome: "allowed" });
    access.users.set("u1", subject({}));
    // Without an announcement the cached access still answers…
    expect(await decide("good")).toMatchObject({ outcome: "allowed" });
    await feed.publish({ kind: "access_changed", key: "u1", value: 0, expiresAt: now + 1000 });
    expect(await decide("good")).toMatchObject({ outcome: "denied", reason: "no_grant" });
  });

  it("rejects disabled and deleted subjects as unauthenticated", async () => {
    access.users.set("u1", subject({ "svc-a": ["owner"] }, false));
    expect(await decide("good")).toMatchObject({ outcome: "unauthenticated", reason: "account_disabled" });
    access.users.delete("u1");
    await feed.publish({ kind: "access_changed", key: "u1", value: 0, expiresAt: now + 1000 });
    expect(await decide("good")).toMatchObject({ outcome: "unauthenticated", reason: "unknown_subject" });
  });

  it("answers a repeated question from memory, and a different question afresh", async () => {
    const first = await decide("good", { requiredRole: "viewer" });
    // Seen once: decided afresh. Seen before: decided and remembered. Then answered from memory.
    const second = await decide("good", { requiredRole: "viewer" });
    expect(second).not.toBe(first);
    expect(await decide("good", { requiredRole: "viewer" })).toBe(second);
    expect(await decide("good", { requiredRole: "owner" })).toMatchObject({ reason: "insufficient_role" });
    expect(await engine.decide({ token: jws("good"), service: { key: "svc-a" } })).not.toBe(first);
    expect(verifier.calls).toBe(1);
  });

  it("remembers an answer no longer than the subject's access stays cached", async () => {
    const shortLived = new DecisionEngine(
      {
        verifier,
        revocations,
        access: new AccessDirectory(access, feed, { maxEntries: 100, ttlMs: 30 }),
        services: new ServiceDirectory(
          serviceSourceOf(() => services),
          new Map(),
          feed,
        ),
        changes: feed,
      },
      { tokenCacheSize: 100, clockSkewSeconds: 30, now: () => now },
    );
    const question = { token: jws("good"), service: { key: "billing" } };
    expect(await shortLived.decide(question)).toMatchObject({ outcome: "allowed" });
    // Changed without an announcement: only the subject cache's lifetime bounds how long it shows.
    access.users.set("u1", subject({}));
    expect(await shortLived.decide(question)).toMatchObject({ outcome: "allowed" });
    await new Promise((resolve) => setTimeout(resolve, 60)); // the subject cache's clock
    now += 60; // the engine's
    expect(await shortLived.decide(question)).toMatchObject({ outcome: "denied", reason: "no_grant" });
  });

  it("does not remember an answer made while a change arrived", async () => {
    await decide("good", { requiredRole: "viewer" }); // the token is seen before the next call
    let release!: () => void;
    access.gate = new Promise((resolve) => {
      release = resolve;
    });
    await feed.publish({ kind: "access_changed", key: "u1", value: 0, expiresAt: now + 1000 });
    const inFlight = decide("good");
    await new Promise((resolve) => setTimeout(resolve, 10)); // verified, not revoked, subject loading
    await revocations.revokeSession("s1", new Date(now + 300_000));
    release();
    // The call in flight answers from what it read before the change…
    expect(await inFlight).toMatchObject({ outcome: "allowed" });
    // …but that answer is not remembered for the next one.
    expect(await decide("good")).toMatchObject({ outcome: "unauthenticated", reason: "session_revoked" });
  });

  it("remembers by the whole token: another token with the same signature is decided afresh", async () => {
    verifier.table.set("payload", claims());
    const decideToken = (token: string) => engine.decide({ token, service: { key: "billing" } });
    expect(await decideToken(jws("payload", "sig"))).toMatchObject({ outcome: "allowed" });
    expect(await decideToken(jws("payload", "sig"))).toMatchObject({ outcome: "allowed" });
    expect(await decideToken(jws("tampered", "sig"))).toMatchObject({
      outcome: "unauthenticated",
      reason: "invalid_signature",
    });
    expect(await decideToken(jws("payload", "sig"))).toMatchObject({ outcome: "allowed" });
  });

  it("drops every remembered answer on any change, also one about another subject", async () => {
    await decide("good");
    const remembered = await decide("good");
    expect(await decide("good")).toBe(remembered);
    await feed.publish({ kind: "access_changed", key: "someone-else", value: 0, expiresAt: now + 1000 });
    const after = await decide("good");
    expect(after).toEqual(remembered);
    expect(after).not.toBe(remembered);
  });

  it("remembers nothing for a token seen once", async () => {
    for (let i = 0; i < 50; i++) {
      verifier.table.set(`once${i}`, claims({ tokenId: `once${i}` }));
      await decide(`once${i}`);
    }
    expect(engine.rememberedDecisions()).toBe(0);
    await decide("once0");
    expect(engine.rememberedDecisions()).toBe(1);
  });

  it("keeps the token cache bounded under a flood of distinct tokens", async () => {
    for (let i = 0; i < 500; i++) {
      verifier.table.set(`t${i}`, claims({ tokenId: `jti${i}` }));
      await decide(`t${i}`);
    }
    expect(engine.cachedTokens()).toBeLessThanOrEqual(100);
  });

  it("keeps answering from memory with 1.5× the token cache's size in rotation", async () => {
    const tokens = Array.from({ length: 150 }, (_, i) => `cycle${i}`);
    for (const token of tokens) verifier.table.set(token, claims({ tokenId: token }));
    for (const token of tokens) await decide(token);
    const before = verifier.calls;
    const replays = 4;
    for (let round = 0; round < replays; round++) for (const token of tokens) await decide(token);
    const verifiedRatio = (verifier.calls - before) / (replays * tokens.length);
    // A plain LRU of 100 entries verified every one of these calls (ratio 1).
    console.log(
      `150 tokens over a cache of 100, ${replays} replays: ${verifiedRatio.toFixed(3)} of calls verified`,
    );
    expect(verifiedRatio).toBeLessThanOrEqual(0.5);
    expect(engine.cachedTokens()).toBe(100);
  });

  it("asked first through remembered() (Check's fast path), a question is counted once: the same scan resistance", async () => {
    const tokens = Array.from({ length: 50 }, (_, i) => `fast${i}`);
    for (const token of tokens) verifier.table.set(token, claims({ tokenId: token }));
    const questions = tokens.flatMap((token) =>
      [{}, { requiredRole: "viewer" }, { service: { host: "billing.internal" } }].map((extra) => ({
        token: jws(token),
        service: { key: "billing" },
        ...extra,
      })),
    );
    const ask = async (input: (typeof questions)[number]) =>
      engine.remembered(input) ?? (await engine.decide(input, { notRemembered: true }));
    const last = new Map<(typeof questions)[number], unknown>();
    for (let round = 0; round < 2; round++)
      for (const question of questions) last.set(question, await ask(question));
    let remembered = 0;
    const replays = 4;
    for (let round = 0; round < replays; round++) {
      for (const question of questions) {
        const decision = await ask(question);
        if (decision === last.get(question)) remembered++;
        last.set(question, decision);
      }
    }
    const ratio = remembered / (replays * questions.length);
    console.log(`through remembered(): ${ratio.toFixed(3)} answered whole`);
    expect(ratio).toBeGreaterThanOrEqual(0.4);
  });

  it("keeps answering repeated questions whole with 1.5× the remembered answers' capacity in rotation", async () => {
    // 50 tokens (all in the token cache) × 3 questions each = 150 questions over 100 remembered answers.
    const tokens = Array.from({ length: 50 }, (_, i) => `asked${i}`);
    for (const token of tokens) verifier.table.set(token, claims({ tokenId: token }));
    const questions = tokens.flatMap((token) => [
      { token, extra: {} },
      { token, extra: { requiredRole: "viewer" } },
      { token, extra: { service: { host: "billing.internal" } } },
    ]);
    const last = new Map<(typeof questions)[number], unknown>();
    for (let round = 0; round < 2; round++)
      for (const question of questions) last.set(question, await decide(question.token, question.extra));
    let remembered = 0;
    const replays = 4;
    for (let round = 0; round < replays; round++) {
      for (const question of questions) {
        const decision = await decide(question.token, question.extra);
        expect(decision).toMatchObject({ outcome: "allowed" });
        if (decision === last.get(question)) remembered++;
        last.set(question, decision);
      }
    }
    const ratio = remembered / (replays * questions.length);
    // A plain LRU of 100 answers never answered one of these from memory (ratio 0).
    console.log(
      `150 questions over 100 remembered answers, ${replays} replays: ${ratio.toFixed(3)} answered whole`,
    );
    expect(ratio).toBeGreaterThanOrEqual(0.4);
    expect(engine.rememberedDecisions()).toBeLessThanOrEqual(100);
  });

  it("remembers nothing with a cache size of 0: every call verifies", async () => {
    const uncached = new DecisionEngine(
      {
        verifier,
        revocations,
        access: new AccessDirectory(access, feed, { maxEntries: 100, ttlMs: 60_000 }),
        services: new ServiceDirectory(
          serviceSourceOf(() => services),
          new Map(),
          feed,
        ),
        changes: feed,
      },
      { tokenCacheSize: 0, clockSkewSeconds: 30, now: () => now },
    );
    for (let i = 0; i < 3; i++) {
      expect(await uncached.decide({ token: jws("good"), service: { key: "billing" } })).toMatchObject({
        outcome: "allowed",
      });
    }
    expect(verifier.calls).toBe(3);
    expect(uncached.cachedTokens()).toBe(0);
    expect(uncached.rememberedDecisions()).toBe(0);
  });
});
