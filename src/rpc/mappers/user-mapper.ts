import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  ProfileChanges as DomainProfileChanges,
  User as DomainUser,
  UserStatus as DomainUserStatus,
} from "../../domain/users/user.ts";
import { type ProfileChanges, type UserSchema, UserStatus } from "../../gen/gatehouse/v1/types_pb.js";

const STATUS: Record<DomainUserStatus, UserStatus> = {
  active: UserStatus.ACTIVE,
  disabled: UserStatus.DISABLED,
  locked: UserStatus.LOCKED,
};

export function toUserStatus(status: DomainUserStatus): UserStatus {
  return STATUS[status];
}

/** The proto status filter; UNSPECIFIED means any. */
export function fromUserStatus(status: UserStatus): DomainUserStatus | undefined {
  switch (status) {
    case UserStatus.ACTIVE:
      return "active";
    case UserStatus.DISABLED:
      return "disabled";
    case UserStatus.LOCKED:
      return "locked";
    default:
      return undefined;
  }
}

/** The domain user as the proto `gatehouse.v1.User`. */
export function toUserMessage(user: DomainUser): MessageInitShape<typeof UserSchema> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    emailVerified: user.emailVerified,
    firstName: user.firstName,
    middleName: user.middleName,
    lastName: user.lastName,
    phone: user.phone,
    telegram: user.telegram,
    organization: user.organization,
    department: user.department,
    title: user.title,
    links: user.links.map((link) => ({ label: link.label, url: link.url })),
    status: toUserStatus(user.status),
    mfaEnabled: user.mfaEnabled,
    totpEnabled: user.totpEnabled,
    roles: [...user.roles],
    businessRoleIds: [...user.businessRoleIds],
    externalId: user.externalId,
    creationDate: timestampFromDate(user.createdAt),
    changeDate: timestampFromDate(user.updatedAt),
    lastLoginDate: user.lastLoginAt === undefined ? undefined : timestampFromDate(user.lastLoginAt),
    keycloakSyncDate:
      user.keycloakSyncedAt === undefined ? undefined : timestampFromDate(user.keycloakSyncedAt),
  };
}

/** The proto's optional fields (absent = unchanged) as domain profile changes. */
export function fromProfileChanges(changes: ProfileChanges | undefined): DomainProfileChanges {
  if (changes === undefined) return {};
  return {
    firstName: changes.firstName,
    middleName: changes.middleName,
    lastName: changes.lastName,
    phone: changes.phone,
    telegram: changes.telegram,
    organization: changes.organization,
    department: changes.department,
    title: changes.title,
    links: changes.links?.links.map((link) => ({ label: link.label, url: link.url })),
  };
}
