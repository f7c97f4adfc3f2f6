import { randomUUID } from "node:crypto";
import type { Actor } from "../../../src/domain/actor.ts";
import { AuditLog } from "../../../src/domain/audit/audit-log.ts";
import { AccessControl } from "../../../src/domain/roles/access-control.ts";
import { USER_ROLE } from "../../../src/domain/roles/permissions.ts";
import { PrivilegeCeiling } from "../../../src/domain/roles/privilege-ceiling.ts";
import type { ServiceGrant } from "../../../src/domain/roles/role.ts";
import { AccountFactory } from "../../../src/domain/users/account-factory.ts";
import { PasswordPolicy } from "../../../src/domain/users/password-policy.ts";
import type { User } from "../../../src/domain/users/user.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { FakeIdentityProvider } from "./fake-identity-provider.ts";
import { MemoryAuditRepository } from "./memory-audit-repository.ts";
import { MemoryBusinessRoleRepository } from "./memory-business-role-repository.ts";
import { MemoryGrantRepository } from "./memory-grant-repository.ts";
import { MemoryRevocationStore } from "./memory-revocation-store.ts";
import { MemoryRoleRepository } from "./memory-role-repository.ts";
import { MemoryServiceCatalog } from "./memory-service-catalog.ts";
import { MemoryUserRepository } from "./memory-user-repository.ts";
import { MemoryUserTokenRepository } from "./memory-user-token-repository.ts";
import { RecordingAccessChangeNotifier } from "./recording-access-change-notifier.ts";
import { RecordingMailer } from "./recording-mailer.ts";

export const TEST_PASSWORD = "Correct-horse-42";

/**
 * The in-memory stores, connected as the database connects them (a user's
 * roles give permissions, business roles give grants), with the real domain
 * helpers over them: what the identity services' unit tests build on.
 */
export class IdentityWorld {
  readonly users = new MemoryUserRepository();
  readonly roles = new MemoryRoleRepository();
  readonly services = new MemoryServiceCatalog();
  readonly businessRoles = new MemoryBusinessRoleRepository();
  readonly grants = new MemoryGrantRepository(this.services, this.businessRoles);
  readonly userTokens = new MemoryUserTokenRepository();
  readonly auditEvents = new MemoryAuditRepository();
  readonly audit = new AuditLog(this.auditEvents, createLogger("silent"));
  readonly revocations = new MemoryRevocationStore();
  readonly changes = new RecordingAccessChangeNotifier();
  readonly mailer = new RecordingMailer();
  readonly provider = new FakeIdentityProvider();
  readonly access = new AccessControl(this.roles);
  readonly ceiling = new PrivilegeCeiling({
    roles: this.roles,
    grants: this.grants,
    services: this.services,
  });
  readonly passwordPolicy = new PasswordPolicy({ minLength: 10, minCharacterClasses: 1 });
  readonly accounts = new AccountFactory(this.users, this.provider);

  constructor() {
    this.roles.rolesOfUser = (id) => this.users.rows.get(id)?.roles ?? [];
    this.users.roleExists = (name) => this.roles.byName(name) !== undefined;
    this.grants.businessRolesOf = (id) => this.users.rows.get(id)?.businessRoleIds ?? [];
    this.users.hasServiceGrant = (userId, serviceId) =>
      (this.grants.direct.get(`user:${userId}`) ?? []).some((grant) => grant.serviceId === serviceId) ||
      this.grants
        .businessRolesOf(userId)
        .some((id) =>
          this.businessRoles.roles.get(id)?.grants.some((grant) => grant.serviceId === serviceId),
        );
    this.businessRoles.onDelete = (id) => {
      for (const row of this.users.rows.values()) {
        row.businessRoleIds = row.businessRoleIds.filter((held) => held !== id);
      }
    };
  }

  /** A custom RBAC role holding `permissions`; returns its name. */
  async role(permissions: readonly string[]): Promise<string> {
    const name = `role-${randomUUID().slice(0, 8)}`;
    await this.roles.create({ name, description: "", permissions });
    return name;
  }

  /** A business role bundling `grants`. */
  businessRole(grants: readonly ServiceGrant[]) {
    return this.businessRoles.create({ name: `bundle-${randomUUID().slice(0, 8)}`, description: "", grants });
  }

  /** An active account with a password (TEST_PASSWORD), the given roles, business roles and direct grants. */
  async person(
    options: {
      roles?: readonly string[];
      businessRoleIds?: readonly string[];
      grants?: readonly ServiceGrant[];
      emailVerified?: boolean;
    } = {},
  ): Promise<User> {
    const username = `person-${randomUUID().slice(0, 8)}`;
    const user = await this.accounts.create({
      username,
      email: `${username}@example.test`,
      emailVerified: options.emailVerified ?? true,
      password: TEST_PASSWORD,
      profile: {},
      roles: options.roles ?? [USER_ROLE],
    });
    if (options.businessRoleIds !== undefined) {
      await this.users.setBusinessRoles(user.id, options.businessRoleIds);
    }
    if (options.grants !== undefined)
      await this.grants.replace({ kind: "user", id: user.id }, options.grants);
    return (await this.users.getUser(user.id))!;
  }

  /** The user as a signed-in caller. */
  caller(user: { id: string }, kind: "user" | "service_account" = "user"): Actor {
    return {
      principal: {
        kind,
        subjectId: user.id,
        sessionId: randomUUID(),
        tokenId: randomUUID(),
        expiresAt: Date.now() + 300_000,
        clientId: "gatehouse",
      },
      ip: "192.0.2.10",
      requestId: randomUUID(),
    };
  }
}
