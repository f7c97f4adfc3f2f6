import type { Actor } from "../actor.ts";
import type { AuditEvent, AuditLog, AuditQuery } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { IdentityFields, IdentityProvider } from "../ports/identity-provider.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import type { AccessControl } from "../roles/access-control.ts";
import { ADMIN_ROLE, USER_ROLE } from "../roles/permissions.ts";
import type { PrivilegeCeiling } from "../roles/privilege-ceiling.ts";
import type { BusinessRoleRepository, RoleRepository } from "../roles/role-repository.ts";
import type { AccountFactory } from "./account-factory.ts";
import { identityRef } from "./identity-ref.ts";
import type { PasswordPolicy } from "./password-policy.ts";
import { type ProfileChanges, profileMetadata, type User, type UserStatus } from "./user.ts";
import type { KeepAnAdmin, UserChanges, UserRepository, UserTokenRepository } from "./user-repository.ts";

/** One of a user's grants on a service, and where it comes from ("direct", "business_role:<id>"). */
export interface EffectiveGrant {
  readonly serviceId: string;
  readonly serviceSlug: string;
  readonly role: string;
  readonly source: string;
}

/** Where GetMe's grants come from; the decision engine can supply direct grants plus business roles. */
export interface EffectiveGrantSource {
  effectiveGrants(userId: string): Promise<EffectiveGrant[]>;
}

export interface UserServiceDeps {
  readonly users: UserRepository;
  /** Reset links are voided when an administrator sets the password. */
  readonly userTokens: Pick<UserTokenRepository, "voidAll">;
  readonly roles: RoleRepository;
  readonly businessRoles: BusinessRoleRepository;
  readonly accounts: AccountFactory;
  readonly provider: IdentityProvider;
  readonly revocations: RevocationStore;
  readonly access: AccessControl;
  /** Who may manage whom: checked on every write on an existing account. */
  readonly ceiling: Pick<PrivilegeCeiling, "requireMayManage" | "requireMayConfer">;
  readonly audit: AuditLog;
  readonly passwordPolicy: PasswordPolicy;
  readonly changes: AccessChangeNotifier;
  readonly grants: EffectiveGrantSource;
  /** Mails an account created without a password a link to choose one. */
  readonly invitations: { invite(user: User): Promise<void> };
  readonly now?: () => number;
}

export interface CreateUserInput {
  readonly username: string;
  readonly email: string;
  readonly password: string | undefined;
  readonly emailVerified: boolean;
  readonly profile: ProfileChanges;
  /** Empty: the built-in `user` role. */
  readonly roles: readonly string[];
}

export interface UpdateUserInput {
  readonly username?: string;
  readonly email?: string;
  readonly emailVerified?: boolean;
  readonly profile: ProfileChanges;
  readonly status?: "active" | "disabled";
}

export interface UserListQuery {
  readonly pageSize: number;
  readonly pageToken: string;
  readonly query: string;
  readonly status: UserStatus | undefined;
  readonly role: string;
  readonly businessRoleId: string;
  readonly serviceId: string;
}

const notFound = () => new DomainError("not_found", "user_not_found", "no such user");

const KEEP_AN_ADMIN: KeepAnAdmin = { keepAnActiveAdmin: true };

const isActiveAdmin = (user: User): boolean => user.status !== "disabled" && user.roles.includes(ADMIN_ROLE);

/**
 * Users: the admin API (each call checks its permission and is audited) and
 * the signed-in user's own profile. Disabling or deleting a user ends every
 * session and rejects every token at once, on every replica.
 */
export class UserService {
  private readonly deps: UserServiceDeps;
  private readonly now: () => number;

  constructor(deps: UserServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** The domain read model, for other modules (VerifyToken). No permission check. Throws not_found. */
  async getUser(id: string): Promise<User> {
    const user = await this.deps.users.getUser(id);
    if (user === undefined) throw notFound();
    return user;
  }

  async get(caller: Actor, id: string): Promise<User> {
    await this.deps.access.requirePermission(caller.principal, "users.read");
    return this.getUser(id);
  }

  async list(caller: Actor, query: UserListQuery): Promise<Page<User>> {
    await this.deps.access.requirePermission(caller.principal, "users.read");
    return this.deps.users.list({ ...query, pageSize: pageSize(query.pageSize) });
  }

  create(caller: Actor, input: CreateUserInput): Promise<User> {
    return this.deps.audit.track(
      { action: "users.create", actor: caller, targetKind: "user" },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        const roles = input.roles.length === 0 ? [USER_ROLE] : input.roles;
        await this.requireGrantableRoles(caller, roles);
        if (input.password !== undefined) {
          this.deps.passwordPolicy.check(input.password, input, "password");
        }
        const user = await this.deps.accounts.create({ ...input, roles });
        note.target("user", user.id);
        // Without a password the account is an invitation: its owner chooses one through the mailed link.
        if (input.password === undefined) {
          await this.deps.invitations.invite(user);
          note.detail("invited", "true");
        }
        return user;
      },
    );
  }

  update(caller: Actor, id: string, input: UpdateUserInput): Promise<User> {
    return this.deps.audit.track(
      { action: "users.update", actor: caller, targetKind: "user", targetId: id },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        const before = await this.getUser(id);
        await this.requireMayManage(caller, id);
        const disabling = input.status === "disabled" && before.status !== "disabled";
        const changes: UserChanges = {
          ...input.profile,
          username: input.username,
          email: input.email,
          // A new address is unverified unless the administrator says otherwise.
          emailVerified:
            input.emailVerified ??
            (input.email !== undefined && input.email.toLowerCase() !== before.email.toLowerCase()
              ? false
              : undefined),
          status: input.status,
        };
        const fields: Partial<IdentityFields> = definedOnly({
          username: changes.username,
          email: changes.email,
          emailVerified: changes.emailVerified,
          firstName: changes.firstName,
          lastName: changes.lastName,
          enabled: changes.status === undefined ? undefined : changes.status === "active",
        });
        const user = await this.disablingAdmin(disabling ? before : undefined, async () => {
          await this.updateProvider(before, fields, input.profile);
          return this.deps.users.update(id, changes);
        });
        if (user === undefined) throw notFound();
        if (input.status !== undefined) note.detail("status", input.status);
        if (input.status === "disabled" && before.status !== "disabled")
          await this.endAccess(id, "user_disabled");
        await this.deps.changes.subjectChanged(id);
        return user;
      },
    );
  }

  delete(caller: Actor, id: string, hard: boolean): Promise<void> {
    return this.deps.audit.track(
      {
        action: "users.delete",
        actor: caller,
        targetKind: "user",
        targetId: id,
        details: { hard: String(hard) },
      },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        const user = await this.deps.users.getUser(id);
        if (user === undefined) return;
        await this.requireMayManage(caller, id);
        const active = user.status !== "disabled";
        if (hard) {
          await this.disablingAdmin(active ? user : undefined, () =>
            this.deps.provider.deleteUser(identityRef(user)),
          );
          await this.endAccess(id, "user_deleted");
          await this.deps.users.delete(id);
        } else if (active) {
          await this.disablingAdmin(user, async () => {
            await this.deps.provider.updateUser(identityRef(user), { enabled: false });
            await this.deps.users.update(id, { status: "disabled" });
          });
          await this.endAccess(id, "user_disabled");
        }
        await this.deps.changes.subjectChanged(id);
      },
    );
  }

  setPassword(caller: Actor, id: string, password: string): Promise<void> {
    return this.deps.audit.track(
      { action: "users.set_password", actor: caller, targetKind: "user", targetId: id },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        const user = await this.getUser(id);
        await this.requireMayManage(caller, id);
        this.deps.passwordPolicy.check(password, user, "password");
        await this.deps.provider.setPassword(identityRef(user), password);
        await this.deps.userTokens.voidAll(id, "password_reset");
        await this.deps.provider.endUserSessions(id, "password_set_by_admin");
      },
    );
  }

  /**
   * Signs the user out everywhere without disabling the account or changing
   * its password: every session ends, offline ones too, and their access
   * tokens are refused at once. Returns how many ended; idempotent.
   */
  revokeSessions(caller: Actor, id: string): Promise<number> {
    return this.deps.audit.track(
      { action: "users.revoke_sessions", actor: caller, targetKind: "user", targetId: id },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        await this.getUser(id);
        await this.requireMayManage(caller, id);
        const ended = await this.deps.provider.endUserSessions(id, "revoked_by_admin", {
          includeOffline: true,
        });
        note.detail("sessions_ended", String(ended));
        return ended;
      },
    );
  }

  /**
   * Turns the user's TOTP off and voids their recovery codes (a lost
   * device), then ends every session of theirs, offline ones too: whoever
   * holds the old device or a session opened with it is out. Under Keycloak
   * the provider removes the OTP credential through the admin API.
   */
  resetMfa(caller: Actor, id: string): Promise<User> {
    return this.deps.audit.track(
      { action: "users.reset_mfa", actor: caller, targetKind: "user", targetId: id },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "users.write");
        const user = await this.getUser(id);
        await this.requireMayManage(caller, id);
        if (!user.totpEnabled) {
          throw new DomainError("failed_precondition", "mfa_not_enabled", "MFA is not on for this account");
        }
        await this.deps.provider.disableTotp(identityRef(user));
        const ended = await this.deps.provider.endUserSessions(id, "mfa_reset_by_admin", {
          includeOffline: true,
        });
        note.detail("sessions_ended", String(ended));
        await this.deps.changes.subjectChanged(id);
        return this.getUser(id);
      },
    );
  }

  setRoles(caller: Actor, id: string, roleNames: readonly string[]): Promise<User> {
    return this.deps.audit.track(
      { action: "users.set_roles", actor: caller, targetKind: "user", targetId: id },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "roles.assign");
        const before = await this.getUser(id);
        await this.requireMayManage(caller, id);
        const added = roleNames.filter((name) => !before.roles.includes(name));
        await this.requireGrantableRoles(caller, added);
        const demoting = before.roles.includes(ADMIN_ROLE) && !roleNames.includes(ADMIN_ROLE);
        await this.deps.users.setRoles(id, roleNames, demoting ? KEEP_AN_ADMIN : undefined);
        note.detail("roles", [...roleNames].sort().join(","));
        await this.deps.changes.subjectChanged(id);
        return this.getUser(id);
      },
    );
  }

  setBusinessRoles(caller: Actor, id: string, businessRoleIds: readonly string[]): Promise<User> {
    return this.deps.audit.track(
      { action: "users.set_business_roles", actor: caller, targetKind: "user", targetId: id },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "roles.assign");
        const before = await this.getUser(id);
        await this.requireMayManage(caller, id);
        const existing = new Set(await this.deps.businessRoles.existing(businessRoleIds));
        const missing = businessRoleIds.filter((roleId) => !existing.has(roleId));
        if (missing.length > 0) {
          throw new DomainError(
            "not_found",
            "business_role_not_found",
            `no such business role: ${missing[0]}`,
            {
              metadata: { business_role_id: missing[0]! },
            },
          );
        }
        // Assigning a bundle confers its grants: the caller must hold each of them.
        const added = businessRoleIds.filter((roleId) => !before.businessRoleIds.includes(roleId));
        const bundles = await Promise.all(added.map((roleId) => this.deps.businessRoles.get(roleId)));
        await this.deps.ceiling.requireMayConfer(caller.principal, {
          grants: bundles.flatMap((bundle) => bundle?.grants ?? []),
        });
        await this.deps.users.setBusinessRoles(id, businessRoleIds);
        note.detail("business_roles", [...businessRoleIds].sort().join(","));
        await this.deps.changes.subjectChanged(id);
        return this.getUser(id);
      },
    );
  }

  async listAuditEvents(caller: Actor, query: AuditQuery): Promise<Page<AuditEvent>> {
    await this.deps.access.requirePermission(caller.principal, "audit.read");
    return this.deps.audit.list({ ...query, pageSize: pageSize(query.pageSize) });
  }

  /** Keycloak synchronisation: only under IDENTITY_PROVIDER=keycloak (after the permission check). */
  async requireKeycloak(caller: Actor, permission: "users.sync" | "users.read"): Promise<never> {
    await this.deps.access.requirePermission(caller.principal, permission);
    throw new DomainError(
      "failed_precondition",
      "keycloak_not_configured",
      "Gatehouse runs with the built-in identity provider (IDENTITY_PROVIDER=local): there is no Keycloak to synchronise with",
    );
  }

  // --- The signed-in user ---

  async getMe(caller: Actor): Promise<{ user: User; permissions: string[]; grants: EffectiveGrant[] }> {
    const userId = requireUserPrincipal(caller);
    const [user, permissions, grants] = await Promise.all([
      this.getUser(userId),
      this.deps.access.permissionsOf(caller.principal),
      this.deps.grants.effectiveGrants(userId),
    ]);
    return { user, permissions: [...permissions].sort(), grants };
  }

  updateMe(caller: Actor, profile: ProfileChanges): Promise<User> {
    const userId = requireUserPrincipal(caller);
    return this.deps.audit.track(
      { action: "users.update_self", actor: caller, targetKind: "user", targetId: userId },
      async () => {
        const before = await this.getUser(userId);
        const fields = definedOnly({ firstName: profile.firstName, lastName: profile.lastName });
        await this.updateProvider(before, fields, profile);
        const user = await this.deps.users.update(userId, profile);
        if (user === undefined) throw notFound();
        await this.deps.changes.subjectChanged(userId);
        return user;
      },
    );
  }

  // --- Helpers ---

  /** The provider's copy first (identity fields and the metadata it mirrors), when anything it keeps changes. */
  private async updateProvider(
    user: User,
    fields: Partial<IdentityFields>,
    profile: ProfileChanges,
  ): Promise<void> {
    const metadata = profileMetadata(profile);
    const changes = Object.keys(metadata).length > 0 ? { ...fields, metadata } : fields;
    if (Object.keys(changes).length > 0) await this.deps.provider.updateUser(identityRef(user), changes);
  }

  /** Ends the user's sessions and rejects every token issued so far (also those without a session). */
  private async endAccess(userId: string, reason: string): Promise<void> {
    await this.deps.provider.endUserSessions(userId, reason);
    await this.deps.revocations.revokeSubjectTokensIssuedBefore(userId, new Date(this.now()));
  }

  /** Roles must exist, and the caller must hold every permission they carry (no escalation). */
  private async requireGrantableRoles(caller: Actor, names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const found = await this.deps.roles.findByNames(names);
    const missing = names.filter((name) => !found.some((role) => role.name === name));
    if (missing.length > 0) {
      throw new DomainError("not_found", "role_not_found", `no such role: ${missing.join(", ")}`, {
        metadata: { role: missing[0]! },
      });
    }
    await this.deps.access.requireHoldsAll(
      caller.principal,
      found.flatMap((role) => role.permissions),
    );
  }

  private requireMayManage(caller: Actor, userId: string): Promise<void> {
    return this.deps.ceiling.requireMayManage(caller.principal, { kind: "user", id: userId });
  }

  /**
   * Runs `work`, which takes `user`'s access away at the provider, after
   * disabling the local record first with the last-admin guard when `user`
   * is an active administrator: the guard refuses atomically, before anything
   * is written at the provider. If `work` fails, the record is re-activated
   * (which, like any re-activation, also lifts a lockout).
   */
  private async disablingAdmin<T>(user: User | undefined, work: () => Promise<T>): Promise<T> {
    if (user === undefined || !isActiveAdmin(user)) return work();
    await this.deps.users.update(user.id, { status: "disabled" }, KEEP_AN_ADMIN);
    try {
      return await work();
    } catch (error) {
      await this.deps.users.update(user.id, { status: "active" }).catch(() => {});
      throw error;
    }
  }
}

/** Self-service calls are for users; service-account tokens have no profile. */
export function requireUserPrincipal(caller: Actor): string {
  if (caller.principal.kind !== "user") {
    throw new DomainError("permission_denied", "not_a_user", "this call is for signed-in users only");
  }
  return caller.principal.subjectId;
}

function definedOnly<T extends Record<string, unknown>>(record: T): Partial<T> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<T>;
}
