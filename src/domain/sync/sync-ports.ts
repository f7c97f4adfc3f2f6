import type { IdentityFields } from "../ports/identity-provider.ts";
import type { ProfileChanges } from "../users/user.ts";
import type { RemoteAccess } from "./role-mapping.ts";

/** Gatehouse's own profile metadata, which it mirrors into the remote directory. */
export type UserMetadata = Required<Omit<ProfileChanges, "firstName" | "lastName">>;

/**
 * The metadata fields by their proto names (the drift report names fields so);
 * Keycloak's user attributes carry the same names.
 */
export const METADATA_FIELD_NAMES = {
  middleName: "middle_name",
  phone: "phone",
  telegram: "telegram",
  organization: "organization",
  department: "department",
  title: "title",
  links: "links",
} as const satisfies Record<keyof UserMetadata, string>;

/** The fields Gatehouse writes to the remote directory. */
export interface RemoteUserFields extends Omit<IdentityFields, "metadata"> {
  readonly metadata: UserMetadata;
}

/** A user as the remote directory (Keycloak) holds them. */
export interface RemoteUser extends RemoteUserFields {
  readonly externalId: string;
  /** An OTP credential is configured. */
  readonly mfaEnabled: boolean;
  /** Groups and realm roles; read only when a role mapping is configured (undefined: not read). */
  readonly access?: RemoteAccess;
}

/**
 * The remote directory of users (Keycloak's admin API). Failures are
 * DomainErrors: unavailable while it cannot be reached.
 */
export interface RemoteUserDirectory {
  get(externalId: string): Promise<RemoteUser | undefined>;
  findByUsername(username: string): Promise<RemoteUser | undefined>;
  findByEmail(email: string): Promise<RemoteUser | undefined>;
  /** One page of every user, in a stable order. */
  page(first: number, max: number): Promise<RemoteUser[]>;
  /** How many users there are now (a progress estimate: users may come and go during a run). */
  count(): Promise<number>;
  /** Returns the new user's external id. */
  create(fields: RemoteUserFields): Promise<string>;
  /** Writes the fields over the remote user's (other remote data is kept). Throws not_found. */
  update(externalId: string, fields: RemoteUserFields): Promise<void>;
}

/**
 * What the sync needs of the users table beyond the UserRepository: the link
 * to the remote user (users.external_id) and the MFA flag the remote
 * directory owns.
 */
export interface UserLinkRepository {
  findUserIdByExternalId(externalId: string): Promise<string | undefined>;
  /** Sets users.external_id. Throws already_exists when another user has it. */
  link(userId: string, externalId: string): Promise<void>;
  setMfaEnabled(userId: string, enabled: boolean): Promise<void>;
  /** Stamps the user's last successful sync with the remote directory (users.keycloak_synced_at). */
  markSynced(userId: string): Promise<void>;
}

export interface SyncCounts {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly disabled: number;
  readonly failed: number;
}

export interface SyncRun extends SyncCounts {
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/**
 * A full run as it goes, published in the coordination store so that every
 * replica's GetSyncStatus shows it.
 */
export interface SyncProgress extends SyncCounts {
  readonly startedAt: Date;
  /** Remote users looked at so far, and the remote count at the start (0 when unknown). */
  readonly processed: number;
  readonly total: number;
}

/** Where a sync failure happened ("full": a user's step in a full run, also counted in the run's `failed`). */
export type SyncFailureSource = "login" | "provision" | "push" | "full";

export interface SyncFailure {
  readonly source: SyncFailureSource;
  readonly externalId: string;
  readonly userId: string;
  /** A DomainError reason or "internal"; never a message with personal data. */
  readonly reason: string;
}

/** The keycloak_sync_runs and keycloak_sync_failures tables. */
export interface SyncStateRepository {
  saveRun(run: SyncRun): Promise<void>;
  lastRun(): Promise<SyncRun | undefined>;
  recordFailure(failure: SyncFailure): Promise<void>;
  failuresSince(time: Date): Promise<number>;
  /** Since `time`: users whose last sync succeeded then, and failures recorded (every source). */
  activitySince(time: Date): Promise<{ readonly usersSynced: number; readonly failures: number }>;
  /** Drops runs and failures older than `time` (keeps the latest run). */
  prune(time: Date): Promise<void>;
}
