import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { BusinessRole, Role } from "../../domain/roles/role.ts";
import type { BusinessRoleSchema, RoleSchema } from "../../gen/gatehouse/v1/role_pb.js";

export function toRoleMessage(role: Role): MessageInitShape<typeof RoleSchema> {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    permissions: [...role.permissions],
    builtIn: role.builtIn,
    creationDate: timestampFromDate(role.createdAt),
    changeDate: timestampFromDate(role.updatedAt),
  };
}

export function toBusinessRoleMessage(role: BusinessRole): MessageInitShape<typeof BusinessRoleSchema> {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    grants: role.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
    creationDate: timestampFromDate(role.createdAt),
    changeDate: timestampFromDate(role.updatedAt),
  };
}
