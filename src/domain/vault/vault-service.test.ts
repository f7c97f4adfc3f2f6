import { randomBytes, randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { FakeVaultTokens } from "../../../test/support/fakes/fake-vault-tokens.ts";
import { MemoryVaultRepository } from "../../../test/support/fakes/memory-vault-repository.ts";
import { createLogger } from "../../observability/logger.ts";
import { AuditLog, type AuditRepository, type NewAuditEvent } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import type { User } from "../users/user.ts";
import { reencryptVault, requireKeysForStoredEntries } from "./key-rotation.ts";
import { entryAssociatedData, VaultKeyring } from "./vault-keyring.ts";
import { type MintSource, type VaultCaller, VaultService } from "./vault-service.ts";

const k1 = randomBytes(32);
const k2 = randomBytes(32);

function user(id: string, overrides: Partial<User> = {}): User {
  return {
    id,
    username: `user-${id.slice(0, 8)}`,
    email: `${id.slice(0, 8)}@example.test`,
    emailVerified: true,
    firstName: "",
    middleName: "",
    lastName: "",
    phone: "",
    telegram: "",
    organization: "",
    department: "",
    title: "",
    links: [],
    status: "active",
    mfaEnabled: false,
    totpEnabled: false,
    roles: [],
    businessRoleIds: [],
    externalId: "",
    createdAt: new Date(),
    updatedAt: new Date(),
    lastLoginAt: undefined,
    lockedUntil: undefined,
    ...overrides,
  };
}

const caller = (subjectId: string, kind: Principal["kind"] = "user"): VaultCaller => ({
  principal: {
    kind,
    subjectId,
    sessionId: randomUUID(),
    tokenId: randomUUID(),
    expiresAt: 0,
    clientId: "gatehouse",
  },
  ip: "10.0.0.1",
  requestId: randomUUID(),
  userAgent: "test",
});

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("succeeded");
}

describe("VaultService", () => {
  const alice = user(randomUUID());
  const bob = user(randomUUID());
  const admin = user(randomUUID());
  let keyring: VaultKeyring;
  let entries: MemoryVaultRepository;
  let tokens: FakeVaultTokens;
  let events: NewAuditEvent[];
  let revokedSessions: string[];
  let sources: MintSource[];
  let failedSignIns: string[];
  /** Accounts the throttle admits only with a one-time code, and for how long. */
  let throttledFor: Map<string, number>;
  /** Users the fake privilege ceiling says hold more than the admin. */
  let abovePrivileges: Set<string>;

  const service = (ring = keyring) =>
    new VaultService({
      keyring: ring,
      entries,
      tokens,
      sessions: {
        async listSessions(userId) {
          return [...tokens.tokens.values()]
            .filter((token) => token.subject === userId && !tokens.endedSessions.has(token.sessionId))
            .map((token) => ({
              id: token.sessionId,
              userId,
              clientId: token.clientId,
              ipAddress: "",
              userAgent: "",
              startedAt: new Date(),
              lastUsedAt: new Date(),
              lastSeenIpAddress: "",
              lastSeenUserAgent: "",
              lastSeenAt: new Date(),
              expiresAt: new Date(Date.now() + 60_000),
              offline: token.offline,
              revokedAt: undefined,
            }));
        },
        async endSession(session) {
          if ("sessionId" in session) tokens.endedSessions.add(session.sessionId);
          return undefined;
        },
      },
      users: {
        async getUser(id) {
          return [alice, bob, admin].find((candidate) => candidate.id === id);
        },
      },
      throttle: {
        async admit(attempt) {
          const wait = throttledFor.get(attempt.userId ?? "");
          return wait === undefined ? { kind: "open" } : { kind: "mfa_only", retryAfterMs: wait };
        },
        async failed(attempt) {
          failedSignIns.push(`${attempt.userId}@${attempt.ip}`);
          return { lockedUntil: undefined };
        },
      },
      revocations: {
        async revokeSession(sessionId) {
          revokedSessions.push(sessionId);
        },
        async revokeToken() {},
        async revokeSubjectTokensIssuedBefore() {},
        async revocationReason() {
          return undefined;
        },
      },
      access: {
        async requirePermission(principal, permission) {
          if (principal.subjectId !== admin.id) {
            throw new DomainError("permission_denied", "missing_permission", `needs ${permission}`);
          }
        },
      },
      ceiling: {
        async requireMayManage(_actor, target) {
          if (abovePrivileges.has(target.id)) {
            throw new DomainError("permission_denied", "target_more_privileged", "holds more");
          }
        },
      },
      audit: new AuditLog(
        {
          async append(event) {
            events.push(event);
          },
          list: () => Promise.reject(new Error("unused")),
        } satisfies AuditRepository,
        createLogger("silent"),
      ),
      changes: { async subjectChanged() {}, async everySubjectChanged() {} },
      settings: { sessionRevocationMs: 60_000 },
      onMint: (source) => sources.push(source),
    });

  const entryOf = (owner: User, purpose = "reports") =>
    entries.find({ userId: owner.id, clientId: tokens.ownClientId, purpose });
  const storedToken = async (owner: User, purpose = "reports") => {
    const entry = (await entryOf(owner, purpose))!;
    return keyring.open(entry.sealed, entryAssociatedData(entry, "stored_token"));
  };
  const store = (vault: VaultService, owner: User, token: string, purpose = "reports") =>
    vault.storeToken(caller(owner.id), { userId: "", clientId: "", purpose, token, tokenType: "refresh" });
  const get = (vault: VaultService, owner: User, purpose = "reports") =>
    vault.getAccessToken(caller(owner.id), { userId: "", clientId: "", purpose, scopes: [] });

  beforeEach(() => {
    keyring = new VaultKeyring(new Map([["k1", k1]]), "k1");
    entries = new MemoryVaultRepository();
    tokens = new FakeVaultTokens();
    events = [];
    revokedSessions = [];
    sources = [];
    failedSignIns = [];
    throttledFor = new Map();
    abovePrivileges = new Set();
  });

  it("stores a token sealed, mints access tokens from it and stores each rotated token", async () => {
    const vault = service();
    const original = tokens.issue(alice.id);
    const entry = await store(vault, alice, original);
    expect(entry).toMatchObject({
      userId: alice.id,
      clientId: "gatehouse",
      purpose: "reports",
      state: "active",
    });
    expect(entry).not.toHaveProperty("sealed");
    const row = entries.rows.get(entry.id)!;
    expect(row.sealed.keyId).toBe("k1");
    expect(Buffer.from(row.sealed.ciphertext).includes(Buffer.from(original))).toBe(false);

    const first = await get(vault, alice);
    const second = await get(vault, alice);
    expect(first.accessToken).not.toBe(second.accessToken);
    expect(tokens.mintCalls).toBe(2);
    const current = await storedToken(alice);
    expect(current).not.toBe(original);
    expect((await tokens.inspect(current)).active).toBe(true);
    expect(entries.rows.get(entry.id)!.version).toBe(3);
  });

  it("refuses tokens the provider rejects, another user's, another client's or of the wrong type", async () => {
    const vault = service();
    const cases: Array<[string, string, "refresh" | "offline"]> = [
      ["not-a-token-at-all", "token_rejected", "refresh"],
      [tokens.issue(bob.id), "token_user_mismatch", "refresh"],
      [tokens.issue(alice.id, { clientId: "gatehouse-web" }), "token_client_unsupported", "refresh"],
      [tokens.issue(alice.id, { offline: true }), "token_type_mismatch", "refresh"],
      [tokens.issue(alice.id), "token_type_mismatch", "offline"],
    ];
    for (const [token, reason, tokenType] of cases) {
      const error = await failure(
        vault.storeToken(caller(alice.id), { userId: "", clientId: "", purpose: "p", token, tokenType }),
      );
      expect([error.kind, error.reason]).toEqual(["invalid_argument", reason]);
    }
    const other = await failure(
      vault.storeToken(caller(alice.id), {
        userId: "",
        clientId: "other",
        purpose: "p",
        token: tokens.issue(alice.id),
        tokenType: "refresh",
      }),
    );
    expect(other.reason).toBe("token_client_mismatch");
    expect(entries.rows.size).toBe(0);
    // One session, one entry: a second purpose would spend the first one's rotations.
    const token = tokens.issue(alice.id);
    await store(vault, alice, token, "first");
    expect((await failure(store(vault, alice, token, "second"))).reason).toBe("token_session_in_use");
    await store(vault, alice, token, "first");
  });

  it("makes one provider round trip for concurrent calls on one entry", async () => {
    const vault = service();
    await store(vault, alice, tokens.issue(alice.id));
    const release = tokens.hold();
    const calls = [get(vault, alice), get(vault, alice), get(vault, alice)];
    release();
    const answers = await Promise.all(calls);
    expect(tokens.mintCalls).toBe(1);
    expect(new Set(answers.map((answer) => answer.accessToken)).size).toBe(1);
    expect(sources.sort()).toEqual(["joined", "joined", "provider"]);
  });

  it("shares one round trip between replicas: the one that waited on the lock takes the other's token", async () => {
    const replicaA = service();
    const replicaB = service();
    const entry = await store(replicaA, alice, tokens.issue(alice.id));
    const release = tokens.hold();
    const first = get(replicaA, alice);
    while (tokens.mintCalls === 0) await new Promise((resolve) => setImmediate(resolve));
    const second = get(replicaB, alice);
    while (entries.lockQueue(entry.id) < 2) await new Promise((resolve) => setImmediate(resolve));
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(tokens.mintCalls).toBe(1);
    expect(b.accessToken).toBe(a.accessToken);
    expect(sources.sort()).toEqual(["provider", "replica"]);
    // Not concurrent: a later call mints again.
    await get(replicaB, alice);
    expect(tokens.mintCalls).toBe(2);
  });

  it("marks an entry the provider refuses dead: reauthentication_required, no more round trips", async () => {
    const vault = service();
    const token = tokens.issue(alice.id);
    await store(vault, alice, token);
    tokens.endedSessions.add(tokens.tokens.get(token)!.sessionId);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await failure(get(vault, alice));
      expect([error.kind, error.reason]).toEqual(["failed_precondition", "reauthentication_required"]);
    }
    expect(tokens.mintCalls).toBe(1);
    expect((await vault.listEntries(caller(alice.id), ""))[0]!.state).toBe("dead");
  });

  it("answers DATA_LOSS for a ciphertext altered by one byte or moved from another entry, and returns nothing", async () => {
    const vault = service();
    const aliceEntry = await store(vault, alice, tokens.issue(alice.id));
    const bobEntry = await store(vault, bob, tokens.issue(bob.id));
    const row = entries.rows.get(aliceEntry.id)!;
    const tampered = Buffer.from(row.sealed.ciphertext);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0x80;
    row.sealed = { ...row.sealed, ciphertext: tampered };
    expect(await failure(get(vault, alice))).toMatchObject({
      kind: "data_loss",
      reason: "sealed_token_unreadable",
    });
    row.sealed = entries.rows.get(bobEntry.id)!.sealed;
    expect(await failure(get(vault, alice))).toMatchObject({
      kind: "data_loss",
      reason: "sealed_token_unreadable",
    });
    expect(tokens.mintCalls).toBe(0);
    expect(row.state).toBe("active");
  });

  it("lets users act on their own entries only; vault.read and vault.write open others'", async () => {
    const vault = service();
    await store(vault, alice, tokens.issue(alice.id));
    const asBob = { userId: alice.id, clientId: "", purpose: "reports", scopes: [] };
    expect((await failure(vault.getAccessToken(caller(bob.id), asBob))).kind).toBe("permission_denied");
    expect((await failure(vault.listEntries(caller(bob.id), alice.id))).kind).toBe("permission_denied");
    expect((await failure(vault.listSessions(caller(bob.id), alice.id))).kind).toBe("permission_denied");
    expect((await vault.getAccessToken(caller(admin.id), asBob)).accessToken).toMatch(/^access-/);
    expect(await vault.listEntries(caller(admin.id), alice.id)).toHaveLength(1);
    const account = caller(randomUUID(), "service_account");
    expect((await failure(vault.listEntries(account, ""))).reason).toBe("user_id_required");
  });

  it("lets no vault.write holder act on the entries and sessions of someone more privileged", async () => {
    const vault = service();
    const entry = await store(vault, alice, tokens.issue(alice.id));
    abovePrivileges.add(alice.id);
    const forAlice = { userId: alice.id, clientId: "", purpose: "reports" };
    for (const attempt of [
      vault.getAccessToken(caller(admin.id), { ...forAlice, scopes: [] }),
      vault.storeToken(caller(admin.id), {
        ...forAlice,
        token: tokens.issue(alice.id),
        tokenType: "refresh",
      }),
      vault.revokeOfflineToken(caller(admin.id), forAlice),
      vault.revokeSession(caller(admin.id), { userId: alice.id, sessionId: entry.sessionId }),
    ]) {
      expect((await failure(attempt)).reason).toBe("target_more_privileged");
    }
    expect(tokens.mintCalls).toBe(0);
    expect(entries.rows.get(entry.id)!.state).toBe("active");
    // Reading is not acting on the account; and the user still acts on their own.
    expect(await vault.listEntries(caller(admin.id), alice.id)).toHaveLength(1);
    expect((await get(vault, alice)).accessToken).toMatch(/^access-/);
  });

  it("answers vault_not_configured without keys", async () => {
    const vault = service(new VaultKeyring(new Map(), undefined));
    const error = await failure(store(vault, alice, tokens.issue(alice.id)));
    expect([error.kind, error.reason]).toEqual(["failed_precondition", "vault_not_configured"]);
    // Session control needs no keys.
    expect(await vault.listSessions(caller(alice.id), "")).toHaveLength(1);
  });

  it("obtains an offline token, counts a wrong password, and revokes it (idempotently)", async () => {
    const vault = service();
    const wrong = await failure(
      vault.requestOfflineToken(caller(alice.id), { purpose: "sync", password: "nope", totpCode: undefined }),
    );
    expect([wrong.kind, wrong.reason]).toEqual(["unauthenticated", "invalid_credentials"]);
    expect(failedSignIns).toEqual([`${alice.id}@${caller(alice.id).ip}`]);
    const entry = await vault.requestOfflineToken(caller(alice.id), {
      purpose: "sync",
      password: tokens.password,
      totpCode: undefined,
    });
    expect(entry.tokenType).toBe("offline");
    const offline = await storedToken(alice, "sync");
    await vault.revokeOfflineToken(caller(alice.id), { userId: "", clientId: "", purpose: "sync" });
    expect(tokens.revoked).toEqual([offline]);
    expect(revokedSessions).toEqual([entry.sessionId]);
    expect(await entryOf(alice, "sync")).toBeUndefined();
    await vault.revokeOfflineToken(caller(alice.id), { userId: "", clientId: "", purpose: "sync" });
    expect(tokens.revoked).toHaveLength(1);
  });

  it("asks the sign-in throttle, not the account lock: refused only where the throttle refuses", async () => {
    const vault = service();
    throttledFor.set(alice.id, 90_000);
    const refused = await failure(
      vault.requestOfflineToken(caller(alice.id), {
        purpose: "sync",
        password: tokens.password,
        totpCode: undefined,
      }),
    );
    expect([refused.kind, refused.reason]).toEqual(["resource_exhausted", "sign_in_throttled"]);
    expect(failedSignIns).toEqual([]);
    throttledFor.delete(alice.id);
    const entry = await vault.requestOfflineToken(caller(alice.id), {
      purpose: "sync",
      password: tokens.password,
      totpCode: undefined,
    });
    expect(entry.tokenType).toBe("offline");
  });

  it("revokes a session at the provider and in the revocation state, and marks its entries dead", async () => {
    const vault = service();
    const token = tokens.issue(alice.id);
    const entry = await store(vault, alice, token);
    await vault.revokeSession(caller(bob.id), { sessionId: entry.sessionId, userId: "" });
    expect(revokedSessions).toEqual([]);
    await vault.revokeSession(caller(alice.id), { sessionId: entry.sessionId, userId: "" });
    expect(tokens.endedSessions.has(entry.sessionId)).toBe(true);
    expect(revokedSessions).toEqual([entry.sessionId]);
    expect(entries.rows.get(entry.id)!.state).toBe("dead");
  });

  it("audits every call, successes and failures, without tokens", async () => {
    const vault = service();
    const token = tokens.issue(alice.id);
    await store(vault, alice, token);
    const { accessToken } = await get(vault, alice);
    await failure(get(vault, alice, "missing"));
    await vault.listEntries(caller(alice.id), "");
    expect(events.map((event) => [event.action, event.result, event.reason])).toEqual([
      ["vault.store_token", "success", ""],
      ["vault.get_access_token", "success", ""],
      ["vault.get_access_token", "failure", "vault_entry_not_found"],
      ["vault.list_entries", "success", ""],
    ]);
    const logged = JSON.stringify(events);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(accessToken);
    expect(events[0]).toMatchObject({ actorId: alice.id, targetKind: "vault_entry" });
  });

  it("re-encrypts every entry under the active key while mints go on; a missing key stops start-up", async () => {
    const vault = service();
    for (const owner of [alice, bob, admin]) await store(vault, owner, tokens.issue(owner.id));
    const tampered = await store(vault, alice, tokens.issue(alice.id), "broken");
    const row = entries.rows.get(tampered.id)!;
    row.sealed = { ...row.sealed, ciphertext: Buffer.from(row.sealed.ciphertext).fill(7, 20, 21) };

    keyring = new VaultKeyring(
      new Map([
        ["k1", k1],
        ["k2", k2],
      ]),
      "k2",
    );
    const rotated = service(keyring);
    const progress: number[] = [];
    const reencryption = reencryptVault(keyring, entries, {
      batchSize: 1,
      onProgress: (step) => progress.push(step.resealed),
    });
    await get(rotated, bob);
    const result = await reencryption;
    expect(result.failed).toEqual([tampered.id]);
    expect(progress.at(-1)).toBe(3);
    expect(await entries.keyIdsInUse()).toEqual(["k1", "k2"]);
    entries.rows.delete(tampered.id);
    expect(await entries.keyIdsInUse()).toEqual(["k2"]);
    for (const owner of [alice, bob, admin])
      expect((await get(rotated, owner)).accessToken).toMatch(/^access-/);

    await requireKeysForStoredEntries(new VaultKeyring(new Map([["k2", k2]]), "k2"), entries);
    await expect(
      requireKeysForStoredEntries(new VaultKeyring(new Map([["k3", k1]]), "k3"), entries),
    ).rejects.toThrow(/"k2", missing from VAULT_KEYS/);
    await expect(
      requireKeysForStoredEntries(new VaultKeyring(new Map(), undefined), entries),
    ).rejects.toThrow(/VAULT_KEYS is not set/);
  });
});
