import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { AccessControl } from "./access-control.ts";
import type { PrivilegeCeiling } from "./privilege-ceiling.ts";
import type { BusinessRole, ServiceGrant } from "./role.ts";
import type { BusinessRoleChanges, BusinessRoleRepository, ServiceRoleCatalog } from "./role-repository.ts";

export interface BusinessRoleServiceDeps {
  readonly businessRoles: BusinessRoleRepository;
  readonly services: ServiceRoleCatalog;
  readonly access: AccessControl;
  /** No escalation: a bundle may hold only grants its author holds (or grants.write). */
  readonly ceiling: Pick<PrivilegeCeiling, "requireMayConfer">;
  readonly audit: AuditLog;
  readonly changes: AccessChangeNotifier;
}

const notFound = () => new DomainError("not_found", "business_role_not_found", "no such business role");

/**
 * Business roles: named bundles of service grants. Changing one changes the
 * access of every holder, so each change is announced for all subjects.
 */
export class BusinessRoleService {
  private readonly deps: BusinessRoleServiceDeps;

  constructor(deps: BusinessRoleServiceDeps) {
    this.deps = deps;
  }

  /** Every grant must name a registered service and one of the roles it defines. */
  private async checkGrants(grants: readonly ServiceGrant[]): Promise<ServiceGrant[]> {
    const unique = [...new Map(grants.map((grant) => [`${grant.serviceId}/${grant.role}`, grant])).values()];
    const roles = await this.deps.services.rolesOf([...new Set(unique.map((grant) => grant.serviceId))]);
    const unknownServices = unique.filter((grant) => !roles.has(grant.serviceId));
    if (unknownServices.length > 0) {
      throw new DomainError(
        "not_found",
        "service_not_found",
        `no such service: ${unknownServices[0]!.serviceId}`,
        {
          metadata: { service_id: unknownServices[0]!.serviceId },
        },
      );
    }
    const badRoles = unique.filter((grant) => !roles.get(grant.serviceId)!.includes(grant.role));
    if (badRoles.length > 0) {
      throw new DomainError(
        "invalid_argument",
        "unknown_service_role",
        "a grant names a role its service does not define",
        {
          violations: badRoles.map((grant) => ({
            field: "grants",
            description: `service ${grant.serviceId} defines no role "${grant.role}"`,
          })),
        },
      );
    }
    return unique;
  }

  create(
    caller: Actor,
    input: { name: string; description: string; grants: readonly ServiceGrant[] },
  ): Promise<BusinessRole> {
    return this.deps.audit.track(
      { action: "business_roles.create", actor: caller, targetKind: "business_role" },
      async (note) => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        const grants = await this.checkGrants(input.grants);
        await this.deps.ceiling.requireMayConfer(caller.principal, { grants });
        const role = await this.deps.businessRoles.create({ ...input, grants });
        note.target("business_role", role.id);
        note.detail("name", role.name);
        return role;
      },
    );
  }

  async get(caller: Actor, id: string): Promise<BusinessRole> {
    await this.deps.access.requirePermission(caller.principal, "roles.read");
    const role = await this.deps.businessRoles.get(id);
    if (role === undefined) throw notFound();
    return role;
  }

  async list(caller: Actor, query: { pageSize: number; pageToken: string }): Promise<Page<BusinessRole>> {
    await this.deps.access.requirePermission(caller.principal, "roles.read");
    return this.deps.businessRoles.list({ pageSize: pageSize(query.pageSize), pageToken: query.pageToken });
  }

  update(caller: Actor, id: string, changes: BusinessRoleChanges): Promise<BusinessRole> {
    return this.deps.audit.track(
      { action: "business_roles.update", actor: caller, targetKind: "business_role", targetId: id },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        const grants = changes.grants === undefined ? undefined : await this.checkGrants(changes.grants);
        if (grants !== undefined) {
          // Its holders get what is added: the author must hold it.
          const before = await this.deps.businessRoles.get(id);
          if (before === undefined) throw notFound();
          const added = grants.filter(
            (grant) =>
              !before.grants.some((old) => old.serviceId === grant.serviceId && old.role === grant.role),
          );
          await this.deps.ceiling.requireMayConfer(caller.principal, { grants: added });
        }
        const role = await this.deps.businessRoles.update(id, { ...changes, grants });
        if (role === undefined) throw notFound();
        if (grants !== undefined) await this.deps.changes.everySubjectChanged();
        return role;
      },
    );
  }

  delete(caller: Actor, id: string): Promise<void> {
    return this.deps.audit.track(
      { action: "business_roles.delete", actor: caller, targetKind: "business_role", targetId: id },
      async () => {
        await this.deps.access.requirePermission(caller.principal, "roles.write");
        if (await this.deps.businessRoles.delete(id)) await this.deps.changes.everySubjectChanged();
      },
    );
  }
}
