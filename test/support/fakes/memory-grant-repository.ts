import { DomainError } from "../../../src/domain/errors.ts";
import type {
  Grant,
  GrantHolder,
  GrantRepository,
  ListedGrant,
} from "../../../src/domain/grants/grant-repository.ts";
import type { MemoryBusinessRoleRepository } from "./memory-business-role-repository.ts";
import type { MemoryServiceCatalog } from "./memory-service-catalog.ts";

/**
 * Direct grants of users and service accounts in memory, and the grants
 * users hold through business roles (`businessRolesOf` says whose are whose).
 */
export class MemoryGrantRepository implements GrantRepository {
  readonly direct = new Map<string, Grant[]>();
  businessRolesOf: (userId: string) => readonly string[] = () => [];
  private readonly services: MemoryServiceCatalog;
  private readonly businessRoles: MemoryBusinessRoleRepository;

  constructor(services: MemoryServiceCatalog, businessRoles: MemoryBusinessRoleRepository) {
    this.services = services;
    this.businessRoles = businessRoles;
  }

  private listed(grant: Grant): ListedGrant | undefined {
    const service = this.services.services.get(grant.serviceId);
    return service === undefined ? undefined : { ...grant, serviceSlug: service.slug };
  }

  async replace(holder: GrantHolder, grants: readonly Grant[]): Promise<void> {
    for (const grant of grants) {
      const service = this.services.services.get(grant.serviceId);
      if (service === undefined) throw new DomainError("not_found", "service_not_found", "no such service");
      if (!service.roles.includes(grant.role)) {
        throw new DomainError("invalid_argument", "unknown_service_role", "no such role on the service");
      }
    }
    this.direct.set(`${holder.kind}:${holder.id}`, [...grants]);
  }

  async list(holder: GrantHolder): Promise<ListedGrant[]> {
    return (this.direct.get(`${holder.kind}:${holder.id}`) ?? []).flatMap(
      (grant) => this.listed(grant) ?? [],
    );
  }

  async businessGrants(userId: string): Promise<Array<ListedGrant & { readonly businessRoleId: string }>> {
    return this.businessRolesOf(userId).flatMap((businessRoleId) =>
      (this.businessRoles.roles.get(businessRoleId)?.grants ?? []).flatMap((grant) => {
        const listed = this.listed(grant);
        return listed === undefined ? [] : [{ ...listed, businessRoleId }];
      }),
    );
  }
}
