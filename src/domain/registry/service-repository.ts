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
  /** The registry's last change number: read before all(), every change up to it is in what all() returns. */
  directoryVersion(): Promise<number>;
  update(id: string, changes: ServiceChanges): Promise<ServiceRecord | undefined>;
  /** The change number of the deletion, or undefined when there was no such service. */
  delete(id: string): Promise<number | undefined>;
  /** Roles of the service still used by grants (direct, service-account or business-role). */
  rolesInUse(serviceId: string): Promise<Set<string>>;
}
