import { createHash } from "node:crypto";
import { DomainError } from "../errors.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";
import type { UserRepository } from "../users/user-repository.ts";

export interface SignInThrottleSettings {
  /** Failures for one account from one source (IP) before that source must wait. */
  readonly sourceThreshold: number;
  /** Failures for one account from sources that never signed in to it before it refuses them all. */
  readonly accountThreshold: number;
  /** The account lock, and the first wait of a source (doubling with each further failure). */
  readonly lockoutSeconds: number;
}

/** Who is trying to sign in to what: `userId` when the login names an account. */
export interface SignInAttempt {
  readonly userId: string | undefined;
  /** The account's lock in the database (LOCKOUT_THRESHOLD reached), if any. */
  readonly lockedUntil: Date | undefined;
  /** What was typed (username or email); keys the budget of a login that names no account. */
  readonly login: string;
  readonly ip: string;
}

/**
 * "open": check the credentials as usual. "mfa_only": the account refuses
 * sources it does not know; only the password together with a right one-time
 * code gets through (and a reset link, which unlocks it).
 */
export type Admission =
  | { readonly kind: "open" }
  | { readonly kind: "mfa_only"; readonly retryAfterMs: number };

const DAY_MS = 86_400_000;
/** A source's failures for an account are forgotten this long after the first (its waits reach a day first). */
const SOURCE_COUNT_MS = 7 * DAY_MS;
/** How long a source that signed in to an account stays known to it. */
const KNOWN_SOURCE_MS = 30 * DAY_MS;
/**
 * The failure count of a login that names no account lives this long, like
 * an account's count in the database (which only a success resets), so that
 * waiting does not tell the two apart.
 */
const UNKNOWN_LOGIN_COUNT_MS = 30 * DAY_MS;

// Keys never hold a login or an address in the clear.
const digest = (value: string) => createHash("sha256").update(value).digest("base64url").slice(0, 22);

const minutes = (ms: number) => {
  const count = Math.max(1, Math.ceil(ms / 60_000));
  return `${count} minute${count === 1 ? "" : "s"}`;
};

/** The one answer for a throttled sign-in, whether or not the login names an account. */
export function throttled(admission: "source" | "account", retryAfterMs: number): DomainError {
  const message =
    admission === "source"
      ? `too many failed sign-ins; try again in ${minutes(retryAfterMs)}, or reset the password`
      : `too many failed sign-ins; try again in ${minutes(retryAfterMs)}, reset the password, or sign in with the password and a one-time code`;
  return new DomainError("resource_exhausted", "sign_in_throttled", message, { retryAfterMs });
}

/**
 * Sign-in throttling (OWASP ASVS V2.2.1) that neither reveals which accounts
 * exist nor lets a stranger lock the owner out:
 *
 * - Per account and source (IP), in the coordination store: after
 *   `sourceThreshold` failures the source waits `lockoutSeconds`, doubling
 *   with each further failure (at most a day). This bounds every source,
 *   including one the account knows.
 * - Per account, in the database: failures from sources that never signed in
 *   to the account count towards `accountThreshold`; at it, the account
 *   refuses unknown sources for `lockoutSeconds` (the bound on distributed
 *   guessing). Known sources are neither charged nor refused, so the owner
 *   signs in as usual; from a new device the owner gets through with a
 *   one-time code, or with a reset link (which unlocks).
 *
 * A login that names no account has the same budgets (in the coordination
 * store), so its answers are the same. If the coordination store is down,
 * its parts let calls through (logged) and every source counts as unknown:
 * the database's account budget still bounds guessing.
 */
export class SignInThrottle {
  private readonly store: CoordinationStore;
  private readonly users: Pick<UserRepository, "recordFailedSignIn" | "clearLockout">;
  private readonly settings: SignInThrottleSettings;
  private readonly warn: (message: string, error: unknown) => void;
  private readonly now: () => number;

  constructor(deps: {
    store: CoordinationStore;
    users: Pick<UserRepository, "recordFailedSignIn" | "clearLockout">;
    settings: SignInThrottleSettings;
    warn: (message: string, error: unknown) => void;
    now?: () => number;
  }) {
    this.store = deps.store;
    this.users = deps.users;
    this.settings = deps.settings;
    this.warn = deps.warn;
    this.now = deps.now ?? Date.now;
  }

  private subject(attempt: Pick<SignInAttempt, "userId" | "login">): string {
    return attempt.userId !== undefined ? `u:${attempt.userId}` : `l:${digest(attempt.login.toLowerCase())}`;
  }

  private sourceKey(attempt: Pick<SignInAttempt, "userId" | "login" | "ip">): string {
    return `${this.subject(attempt)}:${digest(attempt.ip)}`;
  }

  /** Store reads that fail open: undefined when the store is unreachable. */
  private async read(key: string): Promise<string | undefined> {
    try {
      return await this.store.get(key);
    } catch (error) {
      this.warn("sign-in throttling: coordination store unavailable; relying on the account lockout", error);
      return undefined;
    }
  }

  /** Whether this source signed in to the account before. */
  private async known(attempt: Pick<SignInAttempt, "userId" | "ip">): Promise<boolean> {
    if (attempt.userId === undefined) return false;
    return (await this.read(`signin:known:${attempt.userId}:${digest(attempt.ip)}`)) !== undefined;
  }

  /** Throws when this source must wait; otherwise says how the credentials may be checked. */
  async admit(attempt: SignInAttempt): Promise<Admission> {
    // Read at once: with the store hung, a sign-in waits for one timeout, not three.
    const [wait, known, storedLock] = await Promise.all([
      this.read(`signin:wait:${this.sourceKey(attempt)}`),
      this.known(attempt),
      attempt.userId === undefined ? this.read(`signin:locked:${this.subject(attempt)}`) : undefined,
    ]);
    const now = this.now();
    if (Number(wait) > now) throw throttled("source", Number(wait) - now);
    if (known) return { kind: "open" };
    const lockedUntil =
      attempt.userId !== undefined ? (attempt.lockedUntil?.getTime() ?? 0) : Number(storedLock);
    return lockedUntil > now ? { kind: "mfa_only", retryAfterMs: lockedUntil - now } : { kind: "open" };
  }

  /** Counts a failure; returns when the account got locked by this one (to audit it). */
  async failed(attempt: Omit<SignInAttempt, "lockedUntil">): Promise<{ lockedUntil: Date | undefined }> {
    const { sourceThreshold, accountThreshold, lockoutSeconds } = this.settings;
    const lockMs = lockoutSeconds * 1000;
    const countSource = async () => {
      const key = this.sourceKey(attempt);
      const { count } = await this.store.increment(`signin:failures:${key}`, SOURCE_COUNT_MS);
      if (count >= sourceThreshold) {
        const waitMs = Math.min(DAY_MS, lockMs * 2 ** Math.min(count - sourceThreshold, 20));
        await this.store.set(`signin:wait:${key}`, String(this.now() + waitMs), waitMs);
      }
    };
    // The database cannot count for a login that names no account: the store does, alike.
    const countUnknownLogin = async () => {
      if (attempt.userId !== undefined) return;
      const subject = this.subject(attempt);
      const { count } = await this.store.increment(`signin:unknown:${subject}`, UNKNOWN_LOGIN_COUNT_MS);
      if (count % accountThreshold === 0) {
        await this.store.set(`signin:locked:${subject}`, String(this.now() + lockMs), lockMs);
      }
    };
    const [known] = await Promise.all([
      this.known(attempt),
      Promise.all([countSource(), countUnknownLogin()]).catch((error: unknown) =>
        this.warn(
          "sign-in throttling: coordination store unavailable; relying on the account lockout",
          error,
        ),
      ),
    ]);
    if (attempt.userId === undefined || known) return { lockedUntil: undefined };
    return this.users.recordFailedSignIn(attempt.userId, {
      threshold: accountThreshold,
      lockSeconds: lockoutSeconds,
    });
  }

  /** After a full sign-in: the source's failures are forgotten and it becomes known to the account. */
  async succeeded(attempt: { userId: string; ip: string }): Promise<void> {
    const key = this.sourceKey({ ...attempt, login: "" });
    try {
      await Promise.all([
        this.store.delete(`signin:failures:${key}`),
        this.store.delete(`signin:wait:${key}`),
        this.store.set(`signin:known:${attempt.userId}:${digest(attempt.ip)}`, "1", KNOWN_SOURCE_MS),
      ]);
    } catch (error) {
      this.warn("sign-in throttling: coordination store unavailable; the source stays unknown", error);
    }
  }

  /**
   * After a password reset: the mailbox owner proved who they are, so the
   * account lock is lifted and the source that used the link starts afresh,
   * known to the account.
   */
  async unlock(attempt: { userId: string; ip: string }): Promise<void> {
    await this.users.clearLockout(attempt.userId);
    await this.succeeded(attempt);
  }
}
