import type { ProfileMetadata } from "../ports/identity-provider.ts";

/** A labelled URL on a user's profile. */
export interface Link {
  readonly label: string;
  readonly url: string;
}

/** "locked" is derived: an active account inside its lockout window. */
export type UserStatus = "active" | "disabled" | "locked";

/**
 * A user as Gatehouse knows them: identity fields (owned by the identity
 * provider) and local metadata. This is the read model other modules use
 * (VerifyToken, GetMe, the admin API).
 */
export interface User {
  readonly id: string;
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly firstName: string;
  readonly middleName: string;
  readonly lastName: string;
  readonly phone: string;
  readonly telegram: string;
  readonly organization: string;
  readonly department: string;
  readonly title: string;
  readonly links: readonly Link[];
  readonly status: UserStatus;
  /** Whether the user has a second factor: TOTP (Keycloak: an OTP credential) or a passkey. */
  readonly mfaEnabled: boolean;
  /** Whether TOTP in particular is on (what DisableTotp and recovery codes need). */
  readonly totpEnabled: boolean;
  /** Names of the RBAC roles held directly, sorted. */
  readonly roles: readonly string[];
  readonly businessRoleIds: readonly string[];
  /** The id at an external identity provider; empty for the built-in one. */
  readonly externalId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastLoginAt: Date | undefined;
  /** Set while the account is locked out after failed sign-ins. */
  readonly lockedUntil: Date | undefined;
}

/** Local profile fields; an absent field is left as it is, an empty string clears it. */
export interface ProfileChanges {
  readonly firstName?: string;
  readonly middleName?: string;
  readonly lastName?: string;
  readonly phone?: string;
  readonly telegram?: string;
  readonly organization?: string;
  readonly department?: string;
  readonly title?: string;
  readonly links?: readonly Link[];
}

/** Compile-time: the identity port's ProfileMetadata has exactly the profile fields but the names. */
const METADATA_FIELDS_IN_STEP: [keyof ProfileMetadata] extends [
  Exclude<keyof ProfileChanges, "firstName" | "lastName">,
]
  ? [Exclude<keyof ProfileChanges, "firstName" | "lastName">] extends [keyof ProfileMetadata]
    ? true
    : false
  : false = true;
void METADATA_FIELDS_IN_STEP;

/** The profile fields other than the names: what a provider mirrors as metadata (Keycloak attributes). */
export function profileMetadata(profile: ProfileChanges): ProfileMetadata {
  const { firstName: _firstName, lastName: _lastName, ...metadata } = profile;
  return Object.fromEntries(Object.entries(metadata).filter(([, value]) => value !== undefined));
}
