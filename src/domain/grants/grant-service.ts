import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { Principal } from "../principal.ts";
import type { Grant, GrantHolder, GrantRepository, ListedGrant } from "./grant-repository.ts";

/**
 * Who may manage whom (roles/privilege-ceiling.ts), as this module needs it;
 * declared here so that grants and roles do not import each other.
 */
export interface ManagementCheck {
  /** Throws permission_denied "target_more_privileged" unless the actor may act on the holder. */
  requireMayManage(actor: Principal, target: GrantHolder): Promise<void>;
}

export interface EffectiveGrant extends ListedGrant {
  /** "direct", or "business_role:<id>". */
  readonly source: string;
}

/**
 * Direct grants of users and service accounts on services. A change replaces
 * the whole set in one transaction and reaches every replica's decision
 * engine through the change feed before the call returns.
 */
export class GrantService {
  private readonly repository: GrantRepository;
  private readonly accessChanges: AccessChangeNotifier;
  private readonly access: PermissionGuard;
  private readonly audit: Pick<AuditLog, "record">;
  private readonly ceiling: ManagementCheck;

  constructor(deps: {
    repository: GrantRepository;
    accessChanges: AccessChangeNotifier;
    access: PermissionGuard;
    audit: Pick<AuditLog, "record">;
    /** Who may manage whom: a grants.write holder still cannot change a more privileged account's grants. */
    ceiling: ManagementCheck;
  }) {
    this.ceiling = deps.ceiling;
    this.repository = deps.repository;
    this.accessChanges = deps.accessChanges;
    this.access = deps.access;
    this.audit = deps.audit;
  }

  async replace(actor: Actor, holder: GrantHolder, grants: readonly Grant[]): Promise<ListedGrant[]> {
    await this.access.requirePermission(actor.principal, "grants.write");
    const seen = new Set<string>();
    grants.forEach((grant, index) => {
      if (seen.has(grant.serviceId)) {
        throw new DomainError("invalid_argument", "duplicate_service", "one grant per service", {
          violations: [{ field: `grants[${index}].service_id`, description: "appears more than once" }],
        });
      }
      seen.add(grant.serviceId);
    });
    await this.ceiling.requireMayManage(actor.principal, holder);
    await this.repository.replace(holder, grants);
    await this.accessChanges.subjectChanged(holder.id);
    await this.audit.record({
      action: holder.kind === "user" ? "users.set_service_grants" : "service_accounts.set_grants",
      result: "success",
      actor,
      targetKind: holder.kind,
      targetId: holder.id,
      details: { grants: grants.map((g) => `${g.serviceId}:${g.role}`).join(",") },
    });
    return this.repository.list(holder);
  }

  async listForUser(
    actor: Actor,
    userId: string,
  ): Promise<{ direct: ListedGrant[]; effective: EffectiveGrant[] }> {
    await this.access.requirePermission(actor.principal, "users.read");
    const [direct, effective] = await Promise.all([
      this.repository.list({ kind: "user", id: userId }),
      this.effectiveGrants(userId),
    ]);
    return { direct, effective };
  }

  async listForServiceAccount(actor: Actor, serviceAccountId: string): Promise<ListedGrant[]> {
    await this.access.requirePermission(actor.principal, "services.read");
    return this.repository.list({ kind: "service_account", id: serviceAccountId });
  }

  /** A user's access: direct grants plus those of their business roles (GetMe shows the user's own). */
  async effectiveGrants(userId: string): Promise<EffectiveGrant[]> {
    const [direct, business] = await Promise.all([
      this.repository.list({ kind: "user", id: userId }),
      this.repository.businessGrants(userId),
    ]);
    return [
      ...direct.map((grant) => ({ ...grant, source: "direct" })),
      ...business.map((grant) => ({
        serviceId: grant.serviceId,
        serviceSlug: grant.serviceSlug,
        role: grant.role,
        source: `business_role:${grant.businessRoleId}`,
      })),
    ];
  }
}
