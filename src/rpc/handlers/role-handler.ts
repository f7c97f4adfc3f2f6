import type { ServiceImpl } from "@connectrpc/connect";
import type { BusinessRoleService } from "../../domain/roles/business-role-service.ts";
import type { RoleService as RoleDomain } from "../../domain/roles/role-service.ts";
import type { RoleService } from "../../gen/gatehouse/v1/role_pb.js";
import { actorOf } from "../context.ts";
import { toBusinessRoleMessage, toRoleMessage } from "../mappers/role-mapper.ts";

export function createRoleHandler(deps: {
  roles: RoleDomain;
  businessRoles: BusinessRoleService;
}): ServiceImpl<typeof RoleService> {
  const { roles, businessRoles } = deps;
  return {
    async createRole(request, context) {
      const role = await roles.create(await actorOf(context), {
        name: request.name,
        description: request.description,
        permissions: request.permissions?.permissions ?? [],
      });
      return { role: toRoleMessage(role) };
    },

    async getRole(request, context) {
      return { role: toRoleMessage(await roles.get(await actorOf(context), request.roleId)) };
    },

    async listRoles(request, context) {
      const page = await roles.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { roles: page.items.map(toRoleMessage), nextPageToken: page.nextPageToken };
    },

    async updateRole(request, context) {
      const role = await roles.update(await actorOf(context), request.roleId, {
        name: request.name,
        description: request.description,
        permissions: request.permissions?.permissions,
      });
      return { role: toRoleMessage(role) };
    },

    async deleteRole(request, context) {
      await roles.delete(await actorOf(context), request.roleId);
      return {};
    },

    async listPermissions(_request, context) {
      const permissions = await roles.listPermissions(await actorOf(context));
      return { permissions: permissions.map((permission) => ({ ...permission })) };
    },

    async createBusinessRole(request, context) {
      const role = await businessRoles.create(await actorOf(context), {
        name: request.name,
        description: request.description,
        grants: request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      });
      return { businessRole: toBusinessRoleMessage(role) };
    },

    async getBusinessRole(request, context) {
      const role = await businessRoles.get(await actorOf(context), request.businessRoleId);
      return { businessRole: toBusinessRoleMessage(role) };
    },

    async listBusinessRoles(request, context) {
      const page = await businessRoles.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { businessRoles: page.items.map(toBusinessRoleMessage), nextPageToken: page.nextPageToken };
    },

    async updateBusinessRole(request, context) {
      const role = await businessRoles.update(await actorOf(context), request.businessRoleId, {
        name: request.name,
        description: request.description,
        grants: request.grants?.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      });
      return { businessRole: toBusinessRoleMessage(role) };
    },

    async deleteBusinessRole(request, context) {
      await businessRoles.delete(await actorOf(context), request.businessRoleId);
      return {};
    },
  };
}
