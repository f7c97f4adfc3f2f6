import { create } from "@bufbuild/protobuf";
import type { ServiceStatus as DomainStatus, ServiceRecord } from "../../domain/registry/service-record.ts";
import { type Service, ServiceSchema, ServiceStatus } from "../../gen/gatehouse/v1/service_registry_pb.js";
import { toTimestamp } from "./timestamps.ts";

export const serviceStatusToProto = (status: DomainStatus): ServiceStatus =>
  status === "active" ? ServiceStatus.ACTIVE : ServiceStatus.DISABLED;

export const serviceStatusFromProto = (status: ServiceStatus | undefined): DomainStatus | undefined =>
  status === ServiceStatus.ACTIVE ? "active" : status === ServiceStatus.DISABLED ? "disabled" : undefined;

export function serviceToProto(service: ServiceRecord): Service {
  return create(ServiceSchema, {
    id: service.id,
    slug: service.slug,
    displayName: service.displayName,
    description: service.description,
    audience: service.audience,
    status: serviceStatusToProto(service.status),
    roles: [...service.roles],
    hosts: [...service.hosts],
    creationDate: toTimestamp(service.createdAt),
    changeDate: toTimestamp(service.updatedAt),
  });
}
