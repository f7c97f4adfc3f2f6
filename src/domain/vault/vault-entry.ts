import type { EntryIdentity, Sealed } from "./vault-keyring.ts";

export type VaultTokenType = "refresh" | "offline";
export type VaultEntryState = "active" | "dead";

/** A stored token's metadata: what callers may see (never the token). */
export interface VaultEntry extends EntryIdentity {
  readonly id: string;
  readonly tokenType: VaultTokenType;
  /** "dead": the provider refused the stored token; the user must sign in again. */
  readonly state: VaultEntryState;
  /** The provider session the token belongs to (`sid`). */
  readonly sessionId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastUsedAt: Date | undefined;
  /** When the stored token expires; undefined when it does not (Keycloak offline tokens). */
  readonly expiresAt: Date | undefined;
}

/** The last access token minted from an entry, sealed under the entry's key: shared by concurrent callers. */
export interface SealedAccessToken {
  readonly ciphertext: Uint8Array;
  readonly expiresAt: Date;
  /** The scopes asked for, space-separated and sorted ("" for none). */
  readonly scope: string;
}

/** An entry as stored: metadata, the sealed token, and a version bumped by every rotation. */
export interface StoredVaultEntry extends VaultEntry {
  readonly sealed: Sealed;
  readonly version: number;
  readonly lastAccess: SealedAccessToken | undefined;
}

export interface NewVaultEntry extends EntryIdentity {
  readonly tokenType: VaultTokenType;
  readonly sessionId: string;
  readonly expiresAt: Date | undefined;
  readonly sealed: Sealed;
}

/** What a locked read-modify-write does to the entry. */
export type EntryChange =
  /** A mint: the rotated token (sealed with the active key) and the access token minted. */
  | {
      readonly kind: "rotated";
      readonly sealed: Sealed;
      readonly access: SealedAccessToken;
      readonly sessionId: string;
      readonly expiresAt: Date | undefined;
    }
  | { readonly kind: "dead"; readonly reason: string }
  | { readonly kind: "deleted" };

/** A row the re-encryption reads: enough to open and seal again. */
export interface ResealCandidate extends EntryIdentity {
  readonly id: string;
  readonly sealed: Sealed;
}

/** The vault_entries table. */
export interface VaultEntryRepository {
  find(identity: EntryIdentity): Promise<StoredVaultEntry | undefined>;
  /** The user's entries, oldest first. */
  list(userId: string): Promise<VaultEntry[]>;
  /**
   * Inserts the entry, or replaces the one with the same identity (back to
   * active, new version). Returns the entry and the one it replaced.
   */
  put(entry: NewVaultEntry): Promise<{ entry: VaultEntry; replaced: StoredVaultEntry | undefined }>;
  /**
   * Runs `work` on the entry while holding it against every other writer, on
   * every replica (a row lock where the database is shared), and applies the
   * change it returns in the same transaction. Undefined when the entry is gone.
   */
  withLock<T>(
    id: string,
    work: (entry: StoredVaultEntry) => Promise<{ readonly result: T; readonly change?: EntryChange }>,
  ): Promise<{ readonly result: T } | undefined>;
  /** Marks the user's active entries of a session dead; returns how many. */
  markSessionDead(userId: string, sessionId: string, reason: string): Promise<number>;
  /** The distinct key ids of stored ciphertexts. */
  keyIdsInUse(): Promise<string[]>;
  /**
   * Re-encryption: takes up to `limit` rows not sealed under `activeKeyId`
   * (skipping rows others hold locked, and `skip`), and stores what `reseal`
   * returns for each (undefined leaves a row as it is). Returns the rows taken.
   */
  resealBatch(
    activeKeyId: string,
    limit: number,
    skip: readonly string[],
    reseal: (row: ResealCandidate) => Sealed | undefined,
  ): Promise<ResealCandidate[]>;
  /** Rows not sealed under `activeKeyId`. */
  countNotUnder(activeKeyId: string): Promise<number>;
}
