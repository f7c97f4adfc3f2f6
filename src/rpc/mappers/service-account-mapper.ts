import { create } from "@bufbuild/protobuf";
import type { ServiceAccountView } from "../../domain/registry/service-account-admin.ts";
import { type ServiceAccount, ServiceAccountSchema } from "../../gen/gatehouse/v1/service_registry_pb.js";
import { toTimestamp } from "./timestamps.ts";

export function serviceAccountToProto({ account, grants }: ServiceAccountView): ServiceAccount {
  return create(ServiceAccountSchema, {
    id: account.id,
    clientId: account.clientId,
    name: account.name,
    description: account.description,
    disabled: account.disabled,
    grants: grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
    creationDate: toTimestamp(account.createdAt),
    secretRotateDate: toTimestamp(account.secretRotatedAt),
  });
}
