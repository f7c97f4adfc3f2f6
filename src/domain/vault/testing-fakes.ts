import { randomUUID } from "node:crypto";
import { KeyedMutex } from "./single-flight.ts";
import type {
  EntryChange,
  NewVaultEntry,
  ResealCandidate,
  StoredVaultEntry,
  VaultEntry,
  VaultEntryRepository,
} from "./vault-entry.ts";
import type { EntryIdentity, Sealed } from "./vault-keyring.ts";
import type {
  MintOutcome,
  OfflineOutcome,
  TokenInspection,
  VaultTokenProvider,
} from "./vault-token-provider.ts";

type Row = { -readonly [K in keyof StoredVaultEntry]: StoredVaultEntry[K] };

/**
 * vault_entries in memory. withLock holds a per-entry lock like a row lock,
 * so two VaultServices sharing one instance behave like two replicas.
 */
export class MemoryVaultRepository implements VaultEntryRepository {
  readonly rows = new Map<string, Row>();
  private readonly rowLocks = new KeyedMutex();
  private readonly lockWaiters = new Map<string, number>();

  /** Calls waiting for (or holding) the entry's lock. */
  lockQueue(id: string): number {
    return this.lockWaiters.get(id) ?? 0;
  }

  private byIdentity(identity: EntryIdentity): Row | undefined {
    return [...this.rows.values()].find(
      (row) =>
        row.userId === identity.userId &&
        row.clientId === identity.clientId &&
        row.purpose === identity.purpose,
    );
  }

  async find(identity: EntryIdentity): Promise<StoredVaultEntry | undefined> {
    const row = this.byIdentity(identity);
    return row === undefined ? undefined : { ...row };
  }

  async list(userId: string): Promise<VaultEntry[]> {
    return [...this.rows.values()].filter((row) => row.userId === userId).map((row) => ({ ...row }));
  }

  async put(entry: NewVaultEntry): Promise<{ entry: VaultEntry; replaced: StoredVaultEntry | undefined }> {
    const previous = this.byIdentity(entry);
    const now = new Date();
    const row: Row = {
      id: previous?.id ?? randomUUID(),
      userId: entry.userId,
      clientId: entry.clientId,
      purpose: entry.purpose,
      tokenType: entry.tokenType,
      state: "active",
      sessionId: entry.sessionId,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      lastUsedAt: undefined,
      expiresAt: entry.expiresAt,
      sealed: entry.sealed,
      version: (previous?.version ?? 0) + 1,
      lastAccess: undefined,
    };
    this.rows.set(row.id, row);
    const { sealed: _sealed, version: _version, lastAccess: _lastAccess, ...metadata } = row;
    return { entry: metadata, replaced: previous === undefined ? undefined : { ...previous } };
  }

  async withLock<T>(
    id: string,
    work: (entry: StoredVaultEntry) => Promise<{ result: T; change?: EntryChange }>,
  ): Promise<{ result: T } | undefined> {
    this.lockWaiters.set(id, this.lockQueue(id) + 1);
    try {
      return await this.rowLocks.lock(id, async () => {
        const row = this.rows.get(id);
        if (row === undefined) return undefined;
        const { result, change } = await work({ ...row });
        if (change?.kind === "rotated") {
          Object.assign(row, {
            sealed: change.sealed,
            lastAccess: change.access,
            sessionId: change.sessionId,
            expiresAt: change.expiresAt,
            version: row.version + 1,
            lastUsedAt: new Date(),
          });
        } else if (change?.kind === "dead") {
          row.state = "dead";
        } else if (change?.kind === "deleted") {
          this.rows.delete(id);
        }
        return { result };
      });
    } finally {
      this.lockWaiters.set(id, this.lockQueue(id) - 1);
    }
  }

  async markSessionDead(userId: string, sessionId: string): Promise<number> {
    let count = 0;
    for (const row of this.rows.values()) {
      if (row.userId === userId && row.sessionId === sessionId && row.state === "active") {
        row.state = "dead";
        row.version++;
        count++;
      }
    }
    return count;
  }

  async keyIdsInUse(): Promise<string[]> {
    return [...new Set([...this.rows.values()].map((row) => row.sealed.keyId))].sort();
  }

  async resealBatch(
    activeKeyId: string,
    limit: number,
    skip: readonly string[],
    reseal: (row: ResealCandidate) => Sealed | undefined,
  ): Promise<ResealCandidate[]> {
    const taken = [...this.rows.values()]
      .filter((row) => row.sealed.keyId !== activeKeyId && !skip.includes(row.id))
      .slice(0, limit);
    for (const row of taken) {
      const sealed = reseal(row);
      if (sealed !== undefined) Object.assign(row, { sealed, lastAccess: undefined });
    }
    return taken;
  }

  async countNotUnder(activeKeyId: string): Promise<number> {
    return [...this.rows.values()].filter((row) => row.sealed.keyId !== activeKeyId).length;
  }
}

interface FakeToken {
  readonly subject: string;
  readonly clientId: string;
  readonly sessionId: string;
  readonly offline: boolean;
  spent: boolean;
}

/**
 * A provider with rotating refresh tokens: a refresh spends the token and
 * issues the next; presenting a spent token ends its session (as Keycloak
 * does). `hold()` makes the next mints wait until released.
 */
export class FakeVaultTokens implements VaultTokenProvider {
  readonly ownClientId = "gatehouse";
  readonly tokens = new Map<string, FakeToken>();
  readonly endedSessions = new Set<string>();
  mintCalls = 0;
  revoked: string[] = [];
  password = "right-password";
  private gate: Promise<void> | undefined;
  private counter = 0;

  /** Issues a live token (what a sign-in would have given the user). */
  issue(subject: string, options: { offline?: boolean; clientId?: string; sessionId?: string } = {}): string {
    const token = `token-${++this.counter}-${randomUUID()}`;
    this.tokens.set(token, {
      subject,
      clientId: options.clientId ?? this.ownClientId,
      sessionId: options.sessionId ?? randomUUID(),
      offline: options.offline ?? false,
      spent: false,
    });
    return token;
  }

  /** Holds mints until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    return () => {
      this.gate = undefined;
      release();
    };
  }

  subjectOf(user: { id: string }): string {
    return user.id;
  }

  private live(token: string): FakeToken | undefined {
    const found = this.tokens.get(token);
    return found === undefined || found.spent || this.endedSessions.has(found.sessionId) ? undefined : found;
  }

  async inspect(token: string): Promise<TokenInspection> {
    const found = this.live(token);
    if (found === undefined) return { active: false, reason: "inactive" };
    if (found.clientId !== this.ownClientId) return { active: false, reason: "foreign_client" };
    return { active: true, ...found, expiresAt: undefined };
  }

  async mint(token: string): Promise<MintOutcome> {
    this.mintCalls++;
    await this.gate;
    const found = this.tokens.get(token);
    if (found?.spent) this.endedSessions.add(found.sessionId);
    const live = this.live(token);
    if (live === undefined) return { ok: false, reason: "session_ended" };
    live.spent = true;
    const next = this.issue(live.subject, live);
    return {
      ok: true,
      tokens: {
        accessToken: `access-${this.mintCalls}-${randomUUID()}`,
        accessTokenExpiresAt: new Date(Date.now() + 300_000),
        refreshToken: next,
        refreshTokenExpiresAt: undefined,
        sessionId: live.sessionId,
        subject: live.subject,
      },
    };
  }

  async requestOffline(account: { id: string }, credentials: { password: string }): Promise<OfflineOutcome> {
    if (credentials.password !== this.password) return { ok: false, reason: "invalid_credentials" };
    const token = this.issue(account.id, { offline: true });
    return {
      ok: true,
      refreshToken: token,
      sessionId: this.tokens.get(token)!.sessionId,
      expiresAt: undefined,
    };
  }

  async revoke(token: string): Promise<void> {
    this.revoked.push(token);
    const found = this.tokens.get(token);
    if (found !== undefined) this.endedSessions.add(found.sessionId);
  }
}
