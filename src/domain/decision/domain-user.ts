/**
 * The user fields a decision reports (VerifyToken's `user`). Kept here as the
 * decision module's own view so the engine depends on no user-management code.
 */
export interface DomainUser {
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
  readonly links: ReadonlyArray<{ readonly label: string; readonly url: string }>;
  readonly status: "active" | "disabled" | "locked";
  readonly mfaEnabled: boolean;
  readonly roles: readonly string[];
  readonly businessRoleIds: readonly string[];
  readonly externalId: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastLoginAt: Date | undefined;
}
