import type { ServiceImpl } from "@connectrpc/connect";
import type { GrantService } from "../../domain/grants/grant-service.ts";
import type { ServiceAccountAdmin } from "../../domain/registry/service-account-admin.ts";
import type { ServiceRegistry } from "../../domain/registry/service-registry.ts";
import type { ServiceRegistryService } from "../../gen/gatehouse/v1/service_registry_pb.js";
import { actorOf } from "../context.ts";
import { serviceAccountToProto } from "../mappers/service-account-mapper.ts";
import { serviceStatusFromProto, serviceToProto } from "../mappers/service-mapper.ts";

/** ServiceRegistryService: services, service accounts and their grants. */
export function createRegistryHandler(deps: {
  registry: ServiceRegistry;
  accounts: ServiceAccountAdmin;
  grants: GrantService;
}): ServiceImpl<typeof ServiceRegistryService> {
  const { registry, accounts, grants } = deps;
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
    async createServiceAccount(request, context) {
      const created = await accounts.create(await actorOf(context), {
        name: request.name,
        description: request.description,
        grants: request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      });
      return { serviceAccount: serviceAccountToProto(created), clientSecret: created.clientSecret };
    },
    async getServiceAccount(request, context) {
      return {
        serviceAccount: serviceAccountToProto(
          await accounts.get(await actorOf(context), request.serviceAccountId),
        ),
      };
    },
    async listServiceAccounts(request, context) {
      const page = await accounts.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { serviceAccounts: page.items.map(serviceAccountToProto), nextPageToken: page.nextPageToken };
    },
    async updateServiceAccount(request, context) {
      const updated = await accounts.update(await actorOf(context), request.serviceAccountId, {
        description: request.description,
        disabled: request.disabled,
      });
      return { serviceAccount: serviceAccountToProto(updated) };
    },
    async deleteServiceAccount(request, context) {
      await accounts.delete(await actorOf(context), request.serviceAccountId);
      return {};
    },
    async rotateServiceAccountSecret(request, context) {
      return {
        clientSecret: await accounts.rotateSecret(await actorOf(context), request.serviceAccountId, {
          keepIssuedTokens: request.keepIssuedTokens,
        }),
      };
    },
    async setServiceAccountGrants(request, context) {
      const result = await grants.replace(
        await actorOf(context),
        { kind: "service_account", id: request.serviceAccountId },
        request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      );
      return { grants: result };
    },
  };
}
