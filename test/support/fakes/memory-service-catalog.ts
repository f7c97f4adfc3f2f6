import { randomUUID } from "node:crypto";
import type { ServiceRoleCatalog } from "../../../src/domain/roles/role-repository.ts";

export interface MemoryService {
  readonly id: string;
  readonly slug: string;
  /** Lowest first, as the registry orders them. */
  readonly roles: readonly string[];
}

/** Registered services as business roles and grants see them: a slug and the roles each defines. */
export class MemoryServiceCatalog implements ServiceRoleCatalog {
  readonly services = new Map<string, MemoryService>();

  add(slug: string, roles: readonly string[] = ["viewer", "editor", "owner"]): MemoryService {
    const service = { id: randomUUID(), slug, roles };
    this.services.set(service.id, service);
    return service;
  }

  async rolesOf(serviceIds: readonly string[]): Promise<Map<string, readonly string[]>> {
    const found = new Map<string, readonly string[]>();
    for (const id of serviceIds) {
      const service = this.services.get(id);
      if (service !== undefined) found.set(id, service.roles);
    }
    return found;
  }
}
