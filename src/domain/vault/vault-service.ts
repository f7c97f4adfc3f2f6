import type { Actor } from "../actor.ts";
import type { AuditLog, AuditNote } from "../audit/audit-log.ts";
import { type SignInThrottle, throttled } from "../auth/sign-in-throttle.ts";
import { DomainError } from "../errors.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { IdentityProvider, SessionInfo } from "../ports/identity-provider.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import type { PrivilegeCeiling } from "../roles/privilege-ceiling.ts";
import { identityRef } from "../users/identity-ref.ts";
import type { User } from "../users/user.ts";
import type { UserRepository } from "../users/user-repository.ts";
import { type ReencryptionProgress, reencryptVault } from "./key-rotation.ts";
import { KeyedMutex, SingleFlight } from "./single-flight.ts";
import type { StoredVaultEntry, VaultEntry, VaultEntryRepository, VaultTokenType } from "./vault-entry.ts";
import {
  type EntryIdentity,
  entryAssociatedData,
  type Sealed,
  type SealedPart,
  type VaultKeyring,
  VaultSealError,
} from "./vault-keyring.ts";
import type { MintClient, TokenInspection, VaultTokenProvider } from "./vault-token-provider.ts";

/** A signed-in caller of a vault RPC. */
export interface VaultCaller extends Actor {
  readonly userAgent: string;
}

export interface VaultSettings {
  /** How long a revoked session's access tokens stay refused: their longest lifetime plus clock skew. */
  readonly sessionRevocationMs: number;
}

/**
 * How a GetAccessToken call is served, told as it happens: a provider round
 * trip, joining one under way in this process, or taking the token another
 * replica minted while this call waited for the entry's lock.
 */
const REENCRYPT_BATCH_SIZE = 100;

export type MintSource = "provider" | "joined" | "replica";

export interface VaultServiceDeps {
  readonly keyring: VaultKeyring;
  readonly entries: VaultEntryRepository;
  readonly tokens: VaultTokenProvider;
  readonly sessions: Pick<IdentityProvider, "listSessions" | "endSession">;
  readonly users: Pick<UserRepository, "getUser">;
  /** RequestOfflineToken re-checks the password: throttled and counted like a sign-in. */
  readonly throttle: Pick<SignInThrottle, "admit" | "failed">;
  readonly revocations: RevocationStore;
  readonly access: PermissionGuard;
  /**
   * Who may manage whom: acting on another user's entries and sessions (a
   * minted token is theirs to use) needs holding everything they hold.
   */
  readonly ceiling: Pick<PrivilegeCeiling, "requireMayManage">;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
  readonly settings: VaultSettings;
  readonly onMint?: (source: MintSource) => void;
  readonly now?: () => number;
}

export interface AccessTokenGrant {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

const READ = "vault.read";
const WRITE = "vault.write";
/** An access token minted by a concurrent call on another replica is shared only with this much life left. */
const SHARE_MARGIN_MS = 10_000;

const notConfigured = () =>
  new DomainError(
    "failed_precondition",
    "vault_not_configured",
    "the token vault has no keys: set VAULT_KEYS (and VAULT_ACTIVE_KEY)",
  );
const entryNotFound = () =>
  new DomainError("not_found", "vault_entry_not_found", "no vault entry for this user, client and purpose");
const reauthenticationRequired = () =>
  new DomainError(
    "failed_precondition",
    "reauthentication_required",
    "the identity provider no longer accepts the stored token: the user must sign in again and store a new one",
  );
const rejectedToken = (reason: string, message: string, field = "token") =>
  new DomainError("invalid_argument", reason, `${message}; nothing was stored`, {
    violations: [{ field, description: message }],
  });

type MintResult =
  | { readonly kind: "minted"; readonly grant: AccessTokenGrant; readonly source: MintSource }
  | { readonly kind: "dead" };

/**
 * The token vault: refresh and offline tokens sealed at rest (AES-256-GCM,
 * bound to their entry), access tokens minted from them on demand with the
 * rotated token stored in the same locked transaction, and control over a
 * user's sessions. Users act on their own entries and sessions; acting on
 * another user's needs vault.read / vault.write. Every call is audited, and no
 * method ever returns a stored token.
 */
export class VaultService {
  private readonly deps: VaultServiceDeps;
  private readonly now: () => number;
  private readonly flights = new SingleFlight<MintResult>();
  private readonly mints = new KeyedMutex();

  constructor(deps: VaultServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  storeToken(
    caller: VaultCaller,
    input: { userId: string; clientId: string; purpose: string; token: string; tokenType: VaultTokenType },
  ): Promise<VaultEntry> {
    return this.track("vault.store_token", caller, async (note) => {
      const user = await this.target(caller, input.userId, WRITE);
      const identity = this.identity(note, user.id, input.clientId, input.purpose);
      note.detail("token_type", input.tokenType);
      this.requireKeys();
      const inspection = await this.deps.tokens.inspect(input.token);
      this.requireAcceptable(inspection, user, identity, input.tokenType);
      await this.requireSessionNotHeld(identity, inspection.sessionId);
      return this.put(
        note,
        identity,
        input.tokenType,
        input.token,
        inspection.sessionId,
        inspection.expiresAt,
      );
    });
  }

  getAccessToken(
    caller: VaultCaller,
    input: { userId: string; clientId: string; purpose: string; scopes: readonly string[] },
  ): Promise<AccessTokenGrant> {
    return this.track("vault.get_access_token", caller, async (note) => {
      const user = await this.target(caller, input.userId, WRITE);
      const identity = this.identity(note, user.id, input.clientId, input.purpose);
      this.requireKeys();
      const entry = await this.deps.entries.find(identity);
      if (entry === undefined) throw entryNotFound();
      note.target("vault_entry", entry.id);
      if (entry.state === "dead") throw reauthenticationRequired();
      if (user.status === "disabled") {
        throw new DomainError("failed_precondition", "account_disabled", "the account is disabled");
      }
      const scope = [...new Set(input.scopes)].sort().join(" ");
      const client = { ip: caller.ip, userAgent: caller.userAgent };
      // One provider round trip per entry and scope in this process; mints of one entry take turns.
      const flight = this.flights.run(`${entry.id} ${scope}`, () =>
        this.mints.lock(entry.id, () => this.mint(user, entry, scope, client)),
      );
      if (flight.joined) this.deps.onMint?.("joined");
      const result = await flight.promise;
      if (result.kind === "dead") throw reauthenticationRequired();
      note.detail("source", flight.joined ? "joined" : result.source);
      return result.grant;
    });
  }

  private async mint(
    user: User,
    seen: StoredVaultEntry,
    scope: string,
    client: MintClient,
  ): Promise<MintResult> {
    const { keyring, tokens } = this.deps;
    const identity: EntryIdentity = seen;
    const locked = await this.deps.entries.withLock(seen.id, async (entry) => {
      if (entry.state === "dead") return { result: { kind: "dead" } as MintResult };
      const shared = this.sharedAccess(entry, seen.version, scope);
      if (shared !== undefined) {
        this.deps.onMint?.("replica");
        return { result: { kind: "minted", grant: shared, source: "replica" } as const };
      }
      const stored = this.open(entry.sealed, identity, "stored_token");
      this.deps.onMint?.("provider");
      const outcome = await tokens.mint(stored, { scopes: scope === "" ? [] : scope.split(" "), client });
      if (!outcome.ok) {
        return {
          result: { kind: "dead" } as MintResult,
          change: { kind: "dead", reason: outcome.reason } as const,
        };
      }
      const minted = outcome.tokens;
      if (minted.subject !== tokens.subjectOf(user)) {
        return {
          result: { kind: "dead" } as MintResult,
          change: { kind: "dead", reason: "subject_mismatch" } as const,
        };
      }
      const grant = { accessToken: minted.accessToken, expiresAt: minted.accessTokenExpiresAt };
      return {
        result: { kind: "minted", grant, source: "provider" } as const,
        change: {
          kind: "rotated",
          // Providers that do not rotate hand back no new token: keep the one we have.
          sealed: keyring.seal(minted.refreshToken || stored, entryAssociatedData(identity, "stored_token")),
          access: {
            ciphertext: keyring.seal(minted.accessToken, entryAssociatedData(identity, "access_token"))
              .ciphertext,
            expiresAt: minted.accessTokenExpiresAt,
            scope,
          },
          sessionId: minted.sessionId || entry.sessionId,
          expiresAt: minted.refreshTokenExpiresAt,
        } as const,
      };
    });
    if (locked === undefined) throw entryNotFound();
    return locked.result;
  }

  /**
   * The access token another replica minted while this call waited for the
   * entry's lock (the version moved on since this call first read it), for
   * the same scopes: sharing it makes concurrent calls one round trip across
   * replicas too.
   */
  private sharedAccess(
    entry: StoredVaultEntry,
    seenVersion: number,
    scope: string,
  ): AccessTokenGrant | undefined {
    const access = entry.lastAccess;
    if (entry.version === seenVersion || access === undefined || access.scope !== scope) return undefined;
    if (access.expiresAt.getTime() - this.now() < SHARE_MARGIN_MS) return undefined;
    try {
      const accessToken = this.deps.keyring.open(
        { keyId: entry.sealed.keyId, ciphertext: access.ciphertext },
        entryAssociatedData(entry, "access_token"),
      );
      return { accessToken, expiresAt: access.expiresAt };
    } catch {
      return undefined;
    }
  }

  requestOfflineToken(
    caller: VaultCaller,
    input: { purpose: string; password: string; totpCode: string | undefined },
  ): Promise<VaultEntry> {
    return this.track("vault.request_offline_token", caller, async (note) => {
      if (caller.principal.kind !== "user") {
        throw new DomainError("permission_denied", "not_a_user", "this call is for signed-in users only");
      }
      const user = await this.target(caller, "", WRITE);
      const identity = this.identity(note, user.id, "", input.purpose);
      this.requireKeys();
      // The sign-in throttle, not the account lock alone: a stranger's failures from elsewhere must not
      // keep the signed-in owner (a source the account knows) from this call.
      const attempt = { userId: user.id, login: "", ip: caller.ip };
      const admission = await this.deps.throttle.admit({ ...attempt, lockedUntil: user.lockedUntil });
      if (admission.kind === "mfa_only" && input.totpCode === undefined) {
        throw throttled("account", admission.retryAfterMs);
      }
      const outcome = await this.deps.tokens.requestOffline(
        identityRef(user),
        { password: input.password, totpCode: input.totpCode },
        { ip: caller.ip, userAgent: caller.userAgent },
      );
      if (!outcome.ok) {
        if (outcome.reason === "totp_required") {
          throw new DomainError("invalid_argument", "totp_required", "this account needs a one-time code", {
            violations: [{ field: "totp_code", description: "required: the account has MFA on" }],
          });
        }
        await this.countFailure(attempt, caller);
        throw new DomainError(
          "unauthenticated",
          outcome.reason,
          outcome.reason === "invalid_otp" ? "the one-time code is wrong" : "the password is wrong",
        );
      }
      return this.put(note, identity, "offline", outcome.refreshToken, outcome.sessionId, outcome.expiresAt);
    });
  }

  revokeOfflineToken(
    caller: VaultCaller,
    input: { userId: string; clientId: string; purpose: string },
  ): Promise<void> {
    return this.track("vault.revoke_offline_token", caller, async (note) => {
      const user = await this.target(caller, input.userId, WRITE);
      const identity = this.identity(note, user.id, input.clientId, input.purpose);
      this.requireKeys();
      const entry = await this.deps.entries.find(identity);
      if (entry === undefined) {
        note.detail("outcome", "no_entry");
        return;
      }
      note.target("vault_entry", entry.id);
      await this.deps.entries.withLock(entry.id, async (locked) => {
        await this.revokeAtProvider(locked, note);
        return { result: undefined, change: { kind: "deleted" } };
      });
    });
  }

  listEntries(caller: VaultCaller, userId: string): Promise<VaultEntry[]> {
    return this.track("vault.list_entries", caller, async (note) => {
      const user = await this.target(caller, userId, READ);
      note.detail("user_id", user.id);
      this.requireKeys();
      return this.deps.entries.list(user.id);
    });
  }

  listSessions(caller: VaultCaller, userId: string): Promise<SessionInfo[]> {
    return this.track("vault.list_sessions", caller, async (note) => {
      const user = await this.target(caller, userId, READ);
      note.detail("user_id", user.id);
      return this.deps.sessions.listSessions(user.id);
    });
  }

  /**
   * Ends the session at the provider and in the revocation state (its access
   * tokens fail VerifyToken and Check at once), and marks the vault entries
   * holding its tokens dead. A session that is not the user's live session is
   * left alone, and answered the same (idempotent; says nothing of others' sessions).
   */
  revokeSession(caller: VaultCaller, input: { sessionId: string; userId: string }): Promise<void> {
    return this.track("vault.revoke_session", caller, async (note) => {
      const user = await this.target(caller, input.userId, WRITE);
      note.detail("user_id", user.id);
      note.target("session", input.sessionId);
      const live = await this.deps.sessions.listSessions(user.id);
      if (!live.some((session) => session.id === input.sessionId)) {
        note.detail("outcome", "not_live");
        return;
      }
      await this.deps.sessions.endSession(
        { sessionId: input.sessionId, includeOffline: true },
        "revoked_through_vault",
      );
      await this.revokeSessionTokens(input.sessionId);
      const dead = await this.deps.entries.markSessionDead(user.id, input.sessionId, "session_revoked");
      note.detail("entries_dead", String(dead));
    });
  }

  // --- helpers ---

  /**
   * Moves up to `maxEntries` entries sealed under other keys to the active key, online (as
   * `npm run vault:reencrypt`), and says how many are left: callers repeat until none are.
   * Bounded per call so that one RPC never outlives its deadline on a large vault.
   */
  reencrypt(
    caller: VaultCaller,
    maxEntries: number,
  ): Promise<ReencryptionProgress & { activeKeyId: string }> {
    return this.track("vault.reencrypt", caller, async (note) => {
      await this.deps.access.requirePermission(caller.principal, "keys.manage");
      if (!this.deps.keyring.configured) throw notConfigured();
      const progress = await reencryptVault(this.deps.keyring, this.deps.entries, {
        batchSize: REENCRYPT_BATCH_SIZE,
        maxEntries,
      });
      note.detail("resealed", String(progress.resealed));
      note.detail("remaining", String(progress.remaining));
      note.detail("failed", String(progress.failed.length));
      return { ...progress, activeKeyId: this.deps.keyring.activeKeyId };
    });
  }

  private track<T>(action: string, caller: VaultCaller, work: (note: AuditNote) => Promise<T>): Promise<T> {
    return this.deps.audit.track({ action, actor: caller }, work);
  }

  /**
   * The user the call is about: the caller, or another user for holders of
   * `permission`; writes on another user also need the privilege ceiling.
   */
  private async target(caller: VaultCaller, userId: string, permission: string): Promise<User> {
    const own = caller.principal.kind === "user" ? caller.principal.subjectId : undefined;
    const id = userId === "" ? own : userId;
    if (id === undefined) {
      throw new DomainError("invalid_argument", "user_id_required", "name the user (user_id)", {
        violations: [{ field: "user_id", description: "required for service accounts" }],
      });
    }
    if (id !== own) await this.deps.access.requirePermission(caller.principal, permission);
    const user = await this.deps.users.getUser(id);
    if (user === undefined) throw new DomainError("not_found", "user_not_found", "no such user");
    if (id !== own && permission === WRITE) {
      await this.deps.ceiling.requireMayManage(caller.principal, { kind: "user", id });
    }
    return user;
  }

  private identity(note: AuditNote, userId: string, clientId: string, purpose: string): EntryIdentity {
    const identity = { userId, clientId: clientId === "" ? this.deps.tokens.ownClientId : clientId, purpose };
    note.detail("user_id", identity.userId);
    note.detail("client_id", identity.clientId);
    note.detail("purpose", identity.purpose);
    return identity;
  }

  private requireKeys(): void {
    if (!this.deps.keyring.configured) throw notConfigured();
  }

  private requireAcceptable(
    inspection: TokenInspection,
    user: User,
    identity: EntryIdentity,
    tokenType: VaultTokenType,
  ): asserts inspection is Extract<TokenInspection, { active: true }> {
    if (!inspection.active) {
      throw inspection.reason === "foreign_client"
        ? rejectedToken(
            "token_client_unsupported",
            `Gatehouse refreshes only tokens issued to its own client (${this.deps.tokens.ownClientId})`,
          )
        : rejectedToken(
            "token_rejected",
            "the identity provider does not accept this token (unknown, expired, used or revoked)",
          );
    }
    if (inspection.subject !== this.deps.tokens.subjectOf(user)) {
      throw rejectedToken("token_user_mismatch", "the token belongs to another user");
    }
    if (inspection.clientId !== identity.clientId) {
      throw rejectedToken(
        "token_client_mismatch",
        `the token was issued to another client than ${identity.clientId}`,
      );
    }
    if (inspection.offline !== (tokenType === "offline")) {
      throw rejectedToken(
        "token_type_mismatch",
        inspection.offline ? "this is an offline token" : "this is not an offline token",
        "token_type",
      );
    }
  }

  /**
   * One entry per provider session: two entries holding tokens of one
   * session would spend each other's rotations, and the provider ends a
   * session whose spent token is presented again.
   */
  private async requireSessionNotHeld(identity: EntryIdentity, sessionId: string): Promise<void> {
    if (sessionId === "") return;
    const holder = (await this.deps.entries.list(identity.userId)).find(
      (entry) =>
        entry.sessionId === sessionId &&
        entry.state === "active" &&
        (entry.clientId !== identity.clientId || entry.purpose !== identity.purpose),
    );
    if (holder !== undefined) {
      throw rejectedToken(
        "token_session_in_use",
        `a token of this session is already stored (client ${holder.clientId}, purpose ${holder.purpose}); ` +
          "entries sharing a session would spend each other's rotated tokens",
      );
    }
  }

  /** Seals and stores; a token it replaces from another session is revoked (it could not be reached any more). */
  private async put(
    note: AuditNote,
    identity: EntryIdentity,
    tokenType: VaultTokenType,
    token: string,
    sessionId: string,
    expiresAt: Date | undefined,
  ): Promise<VaultEntry> {
    const sealed = this.deps.keyring.seal(token, entryAssociatedData(identity, "stored_token"));
    const { entry, replaced } = await this.deps.entries.put({
      ...identity,
      tokenType,
      sessionId,
      expiresAt,
      sealed,
    });
    note.target("vault_entry", entry.id);
    if (replaced !== undefined && replaced.sessionId !== sessionId) {
      await this.revokeAtProvider(replaced, note).catch(() => note.detail("replaced_token_revoked", "false"));
    }
    return entry;
  }

  /** Revokes an entry's token at the provider; when it cannot be opened, ends its session by id instead. */
  private async revokeAtProvider(entry: StoredVaultEntry, note: AuditNote): Promise<void> {
    let token: string | undefined;
    try {
      token = this.open(entry.sealed, entry, "stored_token");
    } catch (error) {
      note.detail("stored_token", error instanceof DomainError ? error.reason : "unreadable");
    }
    if (token !== undefined) await this.deps.tokens.revoke(token);
    else if (entry.sessionId !== "")
      await this.deps.sessions.endSession(
        { sessionId: entry.sessionId, includeOffline: entry.tokenType === "offline" },
        "vault_revoked",
      );
    if (entry.sessionId !== "") await this.revokeSessionTokens(entry.sessionId);
  }

  private revokeSessionTokens(sessionId: string): Promise<void> {
    return this.deps.revocations.revokeSession(
      sessionId,
      new Date(this.now() + this.deps.settings.sessionRevocationMs),
    );
  }

  private open(sealed: Sealed, identity: EntryIdentity, part: SealedPart): string {
    try {
      return this.deps.keyring.open(sealed, entryAssociatedData(identity, part));
    } catch (error) {
      if (!(error instanceof VaultSealError)) throw error;
      if (error.reason === "unknown_key") {
        throw new DomainError(
          "failed_precondition",
          "vault_key_missing",
          `the stored token is sealed under vault key "${error.keyId}", which is not in VAULT_KEYS`,
          { metadata: { key_id: error.keyId }, cause: error },
        );
      }
      throw new DomainError(
        "data_loss",
        "sealed_token_unreadable",
        "the stored token fails to open (altered, or moved from another entry); nothing was returned",
        { cause: error },
      );
    }
  }

  /** Like a failed sign-in: counts towards the throttle and the lockout. */
  private async countFailure(
    attempt: { userId: string; login: string; ip: string },
    caller: VaultCaller,
  ): Promise<void> {
    const { lockedUntil } = await this.deps.throttle.failed(attempt);
    if (lockedUntil === undefined) return;
    await this.deps.audit.record({
      action: "auth.lockout",
      result: "success",
      actor: caller,
      targetKind: "user",
      targetId: attempt.userId,
      details: { locked_until: lockedUntil.toISOString() },
    });
    await this.deps.changes.subjectChanged(attempt.userId);
  }
}
