/**
 * Gatehouse's API (gatehouse.v1): the service descriptors, message schemas and
 * types, generated from the protos by protoc-gen-es.
 */
export * from "./gen/gatehouse/v1/auth_pb.js";
export * from "./gen/gatehouse/v1/role_pb.js";
export * from "./gen/gatehouse/v1/service_registry_pb.js";
export * from "./gen/gatehouse/v1/token_vault_pb.js";
export * from "./gen/gatehouse/v1/types_pb.js";
export * from "./gen/gatehouse/v1/user_pb.js";
export type { BadRequest, ErrorInfo, RetryInfo } from "./gen/google/rpc/error_details_pb.js";
export { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";
