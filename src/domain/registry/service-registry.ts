import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { RegistryChangeNotifier } from "../ports/access-changes.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import { DEFAULT_SERVICE_ROLES, type ServiceRecord, type ServiceStatus } from "./service-record.ts";
import type { ServiceChanges, ServiceRepository } from "./service-repository.ts";

export interface CreateServiceInput {
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  readonly audience: string;
  readonly roles?: readonly string[];
  readonly hosts?: readonly string[];
}

/**
 * The registry of API services. Every change is announced on the change feed
 * so that each replica's decision engine sees it on its next decision.
 */
export class ServiceRegistry {
  private readonly repository: ServiceRepository;
  private readonly changes: RegistryChangeNotifier;
  private readonly access: PermissionGuard;
  private readonly audit: Pick<AuditLog, "record">;

  constructor(deps: {
    repository: ServiceRepository;
    changes: RegistryChangeNotifier;
    access: PermissionGuard;
    audit: Pick<AuditLog, "record">;
  }) {
    this.repository = deps.repository;
    this.changes = deps.changes;
    this.access = deps.access;
    this.audit = deps.audit;
  }

  async create(actor: Actor, input: CreateServiceInput): Promise<ServiceRecord> {
    await this.access.requirePermission(actor.principal, "services.write");
    const service = await this.repository.create({
      slug: input.slug,
      displayName: input.displayName,
      description: input.description,
      audience: input.audience === "" ? input.slug : input.audience,
      roles: input.roles !== undefined && input.roles.length > 0 ? input.roles : DEFAULT_SERVICE_ROLES,
      hosts: input.hosts ?? [],
    });
    await this.changes.servicesChanged({ serviceId: service.id, version: service.version });
    await this.audit.record({
      action: "services.create",
      result: "success",
      actor,
      targetKind: "service",
      targetId: service.id,
    });
    return service;
  }

  async get(actor: Actor, key: { id: string } | { slug: string }): Promise<ServiceRecord> {
    await this.access.requirePermission(actor.principal, "services.read");
    const service =
      "id" in key ? await this.repository.findById(key.id) : await this.repository.findBySlug(key.slug);
    if (service === undefined) throw new DomainError("not_found", "service_not_found", "no such service");
    return service;
  }

  async list(
    actor: Actor,
    query: { pageSize: number; pageToken: string; status?: ServiceStatus },
  ): Promise<Page<ServiceRecord>> {
    await this.access.requirePermission(actor.principal, "services.read");
    return this.repository.list({ ...query, pageSize: pageSize(query.pageSize) });
  }

  async update(actor: Actor, id: string, changes: ServiceChanges): Promise<ServiceRecord> {
    await this.access.requirePermission(actor.principal, "services.write");
    // Read first only to check removed roles: every round trip before the write delays the change on every replica.
    if (changes.roles !== undefined) {
      const current = await this.repository.findById(id);
      if (current === undefined) throw new DomainError("not_found", "service_not_found", "no such service");
      const kept = new Set(changes.roles);
      const removed = current.roles.filter((role) => !kept.has(role));
      if (removed.length > 0) {
        const inUse = await this.repository.rolesInUse(id);
        const blocking = removed.filter((role) => inUse.has(role));
        if (blocking.length > 0) {
          throw new DomainError(
            "failed_precondition",
            "role_in_use",
            `roles still granted cannot be removed: ${blocking.join(", ")}`,
            { metadata: { roles: blocking.join(",") } },
          );
        }
      }
    }
    const updated = await this.repository.update(id, changes);
    if (updated === undefined) throw new DomainError("not_found", "service_not_found", "no such service");
    await this.changes.servicesChanged({ serviceId: id, version: updated.version });
    await this.audit.record({
      action: "services.update",
      result: "success",
      actor,
      targetKind: "service",
      targetId: id,
    });
    return updated;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    await this.access.requirePermission(actor.principal, "services.write");
    const deletion = await this.repository.delete(id);
    if (deletion !== undefined) {
      // Grants on the service went with it (ON DELETE CASCADE): every subject's access may have changed.
      await this.changes.servicesChanged({ serviceId: id, version: deletion });
      await this.changes.everySubjectChanged();
      await this.audit.record({
        action: "services.delete",
        result: "success",
        actor,
        targetKind: "service",
        targetId: id,
      });
    }
  }
}
