export type ServiceStatus = "active" | "disabled";

/** A registered API service, as the decision engine and the registry see it. */
export interface ServiceRecord {
  readonly id: string;
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  readonly audience: string;
  readonly status: ServiceStatus;
  /** Lowest first: a grant of a later role satisfies a requirement for an earlier one. */
  readonly roles: readonly string[];
  readonly hosts: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /**
   * The registry's change number at this service's last write: every create,
   * update and delete of any service takes the next one, so of two copies of a
   * service the newer has the greater version.
   */
  readonly version: number;
}

export const DEFAULT_SERVICE_ROLES = ["viewer", "editor", "owner"] as const;

/** The rank of a role in the service's order, or -1 if the service does not define it. */
export function roleRank(service: ServiceRecord, role: string): number {
  return service.roles.indexOf(role);
}

/** The highest of the given roles by the service's order; undefined when none is defined there. */
export function highestRole(service: ServiceRecord, roles: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestRank = -1;
  for (const role of roles) {
    const rank = roleRank(service, role);
    if (rank > bestRank) {
      best = role;
      bestRank = rank;
    }
  }
  return best;
}
