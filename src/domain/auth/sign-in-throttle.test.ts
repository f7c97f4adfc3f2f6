import { beforeEach, describe, expect, it } from "vitest";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import { type SignInAttempt, SignInThrottle } from "./sign-in-throttle.ts";

const SETTINGS = { sourceThreshold: 3, accountThreshold: 4, lockoutSeconds: 60 };
const DAY_MS = 86_400_000;

/** The users table's lockout columns, as the SQL repository keeps them (one statement, count restarts on lock). */
class LockoutTable {
  readonly rows = new Map<string, { count: number; lockedUntil: number | undefined }>();
  private readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
  }
  async recordFailedSignIn(userId: string, policy: { threshold: number; lockSeconds: number }) {
    const row = this.rows.get(userId) ?? { count: 0, lockedUntil: undefined };
    row.count += 1;
    let lockedUntil: Date | undefined;
    if (row.count >= policy.threshold) {
      row.count = 0;
      row.lockedUntil = this.now() + policy.lockSeconds * 1000;
      lockedUntil = new Date(row.lockedUntil);
    }
    this.rows.set(userId, row);
    return { lockedUntil };
  }
  async clearLockout(userId: string) {
    this.rows.set(userId, { count: 0, lockedUntil: undefined });
  }
  lockedUntil(userId: string): Date | undefined {
    const until = this.rows.get(userId)?.lockedUntil;
    return until !== undefined && until > this.now() ? new Date(until) : undefined;
  }
}

/** A coordination store that can be made unreachable. */
function breakable(inner: CoordinationStore): CoordinationStore & { down: boolean } {
  const store = Object.create(inner) as CoordinationStore & { down: boolean };
  store.down = false;
  for (const method of ["get", "set", "delete", "increment"] as const) {
    const original = inner[method].bind(inner) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      store.down ? Promise.reject(new Error("Connection is closed.")) : original(...args);
  }
  return store;
}

describe("SignInThrottle", () => {
  let now: number;
  let store: ReturnType<typeof breakable>;
  let users: LockoutTable;
  let throttle: SignInThrottle;
  let warnings: string[];

  beforeEach(() => {
    now = 1_000_000_000;
    store = breakable(new MemoryCoordinationStore(() => now));
    users = new LockoutTable(() => now);
    warnings = [];
    throttle = new SignInThrottle({
      store,
      users,
      settings: SETTINGS,
      warn: (message) => warnings.push(message),
      now: () => now,
    });
  });

  /** Admits, and on "open" counts a failure: what Login does with a wrong password. Returns the outcome. */
  async function fail(attempt: Omit<SignInAttempt, "lockedUntil">): Promise<string> {
    try {
      const lockedUntil = attempt.userId === undefined ? undefined : users.lockedUntil(attempt.userId);
      const admission = await throttle.admit({ ...attempt, lockedUntil });
      if (admission.kind === "mfa_only") return "mfa_only";
      await throttle.failed(attempt);
      return "counted";
    } catch (error) {
      return (error as { reason: string }).reason;
    }
  }

  it("gives a login that names no account the same budgets as an account", async () => {
    const outcomes = async (userId: string | undefined, login: string) => {
      const seen: string[] = [];
      for (let attempt = 0; attempt < 4; attempt++) seen.push(await fail({ userId, login, ip: "10.0.0.1" }));
      for (let ip = 2; ip < 8; ip++) seen.push(await fail({ userId, login, ip: `10.0.0.${ip}` }));
      return seen;
    };
    const known = await outcomes("u-1", "alice");
    const unknown = await outcomes(undefined, "nobody");
    expect(known).toEqual(unknown);
    expect(known).toEqual([
      "counted",
      "counted",
      "counted",
      "sign_in_throttled",
      // One more from a second source reaches the account budget (3 + 1); then unknown sources are refused.
      "counted",
      "mfa_only",
      "mfa_only",
      "mfa_only",
      "mfa_only",
      "mfa_only",
    ]);
  });

  it("neither charges nor refuses a source that signed in before; it is still bounded by its own waits", async () => {
    await throttle.succeeded({ userId: "u-1", ip: "10.0.0.9" });
    for (let ip = 1; ip <= SETTINGS.accountThreshold; ip++) {
      expect(await fail({ userId: "u-1", login: "alice", ip: `10.0.1.${ip}` })).toBe("counted");
    }
    expect(users.lockedUntil("u-1")).toBeDefined();
    expect(await fail({ userId: "u-1", login: "alice", ip: "10.0.1.99" })).toBe("mfa_only");
    // The known source: not locked out, and its failures do not extend the lock…
    const countBefore = users.rows.get("u-1")!.count;
    expect(await fail({ userId: "u-1", login: "alice", ip: "10.0.0.9" })).toBe("counted");
    expect(users.rows.get("u-1")!.count).toBe(countBefore);
    // …but it waits after its own threshold, and each further failure doubles the wait, up to a day.
    await fail({ userId: "u-1", login: "alice", ip: "10.0.0.9" });
    await fail({ userId: "u-1", login: "alice", ip: "10.0.0.9" });
    const waits: number[] = [];
    for (let round = 0; round < 14; round++) {
      const error = await throttle
        .admit({ userId: "u-1", login: "alice", ip: "10.0.0.9", lockedUntil: undefined })
        .then(
          () => undefined,
          (caught: { retryAfterMs: number }) => caught,
        );
      waits.push(error?.retryAfterMs ?? 0);
      now += error?.retryAfterMs ?? 0;
      await throttle.failed({ userId: "u-1", login: "alice", ip: "10.0.0.9" });
    }
    expect(waits.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...waits)).toBe(DAY_MS);
  });

  it("a reset unlocks the account and clears the source that used the link", async () => {
    for (let attempt = 0; attempt < SETTINGS.sourceThreshold; attempt++) {
      await fail({ userId: "u-1", login: "alice", ip: "10.0.0.1" });
    }
    await fail({ userId: "u-1", login: "alice", ip: "10.0.0.2" });
    expect(await fail({ userId: "u-1", login: "alice", ip: "10.0.0.3" })).toBe("mfa_only");
    await throttle.unlock({ userId: "u-1", ip: "10.0.0.1" });
    expect(users.lockedUntil("u-1")).toBeUndefined();
    expect(
      await throttle.admit({ userId: "u-1", login: "alice", ip: "10.0.0.1", lockedUntil: undefined }),
    ).toEqual({ kind: "open" });
  });

  it("keeps guessing bounded by the database while the coordination store is down", async () => {
    store.down = true;
    const outcomes: string[] = [];
    for (let ip = 1; ip <= SETTINGS.accountThreshold + 2; ip++) {
      outcomes.push(await fail({ userId: "u-1", login: "alice", ip: "10.0.0.1" }));
    }
    expect(outcomes).toEqual(["counted", "counted", "counted", "counted", "mfa_only", "mfa_only"]);
    expect(warnings.length).toBeGreaterThan(0);
  });
});
