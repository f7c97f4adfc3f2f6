import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type CheckRequest,
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";
import { VerifyTokenRequestSchema } from "../../src/gen/gatehouse/v1/auth_pb.js";
import { HealthCheckRequestSchema } from "../../src/gen/health/v1/health_pb.js";

/**
 * Pre-encoded gRPC request bodies: the 5-byte length prefix (no compression)
 * followed by the protobuf bytes, encoded with the generated schemas in src/gen.
 * A load generator sends these bytes as they are.
 */
export function grpcFrame<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Buffer {
  const bytes = toBinary(schema, create(schema, init));
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

/** The message of a unary gRPC response body (one uncompressed frame). */
export function decodeGrpcFrame<Desc extends DescMessage>(schema: Desc, body: Buffer) {
  if (body.length < 5 || body[0] !== 0)
    throw new Error(`not an uncompressed gRPC frame (${body.length} bytes)`);
  const length = body.readUInt32BE(1);
  return fromBinary(schema, body.subarray(5, 5 + length));
}

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
export const CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check";
export const VERIFY_TOKEN_PATH = "/gatehouse.v1.AuthService/VerifyToken";

/** grpc.health.v1.Health/Check for the whole server: the empty-handler baseline. */
export function healthCheckFrame(): Buffer {
  return grpcFrame(HealthCheckRequestSchema, { service: "" });
}

/**
 * A CheckRequest shaped as Envoy's ext_authz filter sends it for a request to
 * `GET /api/orders` on a routed service: the request's headers (authorization
 * among them), the route's context_extensions naming the service and the least
 * role, and the peer addresses.
 */
export function checkRequest(
  token: string | undefined,
  service: string,
  requiredRole = "viewer",
): CheckRequest {
  const headers: Record<string, string> = {
    ":authority": "orders.internal",
    ":method": "GET",
    ":path": "/api/orders?page=1",
    ":scheme": "http",
    accept: "application/json",
    "user-agent": "bench-client/1.0",
    "x-forwarded-proto": "http",
    "x-request-id": "6f1c2a0e-2f7b-4f43-9b8e-0d9f5a1c3b7e",
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return create(CheckRequestSchema, {
    attributes: {
      source: {
        address: {
          address: {
            case: "socketAddress",
            value: { address: "10.0.0.7", portSpecifier: { case: "portValue", value: 41532 } },
          },
        },
      },
      destination: {
        address: {
          address: {
            case: "socketAddress",
            value: { address: "10.0.0.9", portSpecifier: { case: "portValue", value: 8080 } },
          },
        },
      },
      request: {
        http: {
          id: "12345678901234567890",
          method: "GET",
          headers,
          path: "/api/orders?page=1",
          host: "orders.internal",
          scheme: "http",
          protocol: "HTTP/1.1",
        },
      },
      contextExtensions: { service, required_role: requiredRole },
    },
  });
}

export function checkFrame(token: string | undefined, service: string, requiredRole = "viewer"): Buffer {
  const bytes = toBinary(CheckRequestSchema, checkRequest(token, service, requiredRole));
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

export function verifyTokenFrame(token: string, serviceId: string, requiredRole = "viewer"): Buffer {
  return grpcFrame(VerifyTokenRequestSchema, { token, serviceId, requiredRole });
}

/** Envoy's verdict in a CheckResponse: google.rpc.Code (0 allow, 16 unauthenticated, 7 permission denied). */
export function checkVerdict(body: Buffer): number {
  const response: CheckResponse = decodeGrpcFrame(CheckResponseSchema, body);
  return response.status?.code ?? 0;
}
