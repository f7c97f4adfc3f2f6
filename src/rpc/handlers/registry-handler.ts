import type { ServiceImpl } from "@connectrpc/connect";
import type { ServiceRegistry } from "../../domain/registry/service-registry.ts";
import type { ServiceRegistryService } from "../../gen/gatehouse/v1/service_registry_pb.js";
import { actorOf } from "../context.ts";
import { serviceStatusFromProto, serviceToProto } from "../mappers/service-mapper.ts";

/** ServiceRegistryService: services CRUD (service accounts are added where they live). */
export function createRegistryHandler(registry: ServiceRegistry): Partial<ServiceImpl<typeof ServiceRegistryService>> {
  return {
    async createService(request, context) {
      const service = await registry.create(await actorOf(context), {
        slug: request.slug,
        displayName: request.displayName,
        description: request.description,
        audience: request.audience,
        roles: request.roles?.roles,
        hosts: request.hosts?.hosts,
      });
      return { service: serviceToProto(service) };
    },
    async getService(request, context) {
      const key = request.key.case === "slug" ? { slug: request.key.value } : { id: request.key.value ?? "" };
      return { service: serviceToProto(await registry.get(await actorOf(context), key)) };
    },
    async listServices(request, context) {
      const page = await registry.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        status: serviceStatusFromProto(request.status),
      });
      return { services: page.items.map(serviceToProto), nextPageToken: page.nextPageToken };
    },
    async updateService(request, context) {
      const service = await registry.update(await actorOf(context), request.serviceId, {
        displayName: request.displayName,
        description: request.description,
        audience: request.audience,
        status: serviceStatusFromProto(request.status),
        roles: request.roles?.roles,
        hosts: request.hosts?.hosts,
      });
      return { service: serviceToProto(service) };
    },
    async deleteService(request, context) {
      await registry.delete(await actorOf(context), request.serviceId);
      return {};
    },
  };
}
