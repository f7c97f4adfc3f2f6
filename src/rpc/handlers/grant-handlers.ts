import type { ServiceImpl } from "@connectrpc/connect";
import type { GrantService } from "../../domain/grants/grant-service.ts";
import type { ServiceRegistryService } from "../../gen/gatehouse/v1/service_registry_pb.js";
import type { UserService } from "../../gen/gatehouse/v1/user_pb.js";
import { actorOf } from "../context.ts";

/** UserService's grant methods (seed 003's PUT /admin/users/{user_uuid}/services). */
export function createUserGrantHandlers(
  grants: GrantService,
): Pick<ServiceImpl<typeof UserService>, "setServiceGrants" | "listServiceGrants"> {
  return {
    async setServiceGrants(request, context) {
      const result = await grants.replace(
        await actorOf(context),
        { kind: "user", id: request.userId },
        request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      );
      return { grants: result };
    },
    async listServiceGrants(request, context) {
      const { direct, effective } = await grants.listForUser(await actorOf(context), request.userId);
      return { directGrants: direct, effectiveGrants: effective };
    },
  };
}

/** ServiceRegistryService.SetServiceAccountGrants. */
export function createServiceAccountGrantHandlers(
  grants: GrantService,
): Pick<ServiceImpl<typeof ServiceRegistryService>, "setServiceAccountGrants"> {
  return {
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
