import type { Page } from "../pagination.ts";
import type { ServiceRecord, ServiceStatus } from "./service-record.ts";

export interface NewService {
  readonly slug: string;
  readonly displayName: string;
  readonly description: string;
  readonly audience: string;
  readonly roles: readonly string[];
  readonly hosts: readonly string[];
}

export interface ServiceChanges {
  readonly displayName?: string;
  readonly description?: string;
  readonly audience?: string;
  readonly status?: ServiceStatus;
  readonly roles?: readonly string[];
  readonly hosts?: readonly string[];
}

/** Persistence of the registry. Unique violations surface as DomainError("already_exists"). */
export interface ServiceRepository {
  create(service: NewService): Promise<ServiceRecord>;
  findById(id: string): Promise<ServiceRecord | undefined>;
  findBySlug(slug: string): Promise<ServiceRecord | undefined>;
  list(query: { pageSize: number; pageToken: string; status?: ServiceStatus }): Promise<Page<ServiceRecord>>;
  all(): Promise<ServiceRecord[]>;
  update(id: string, changes: ServiceChanges): Promise<ServiceRecord | undefined>;
  delete(id: string): Promise<boolean>;
  /** Roles of the service still used by grants (direct, service-account or business-role). */
  rolesInUse(serviceId: string): Promise<Set<string>>;
}
