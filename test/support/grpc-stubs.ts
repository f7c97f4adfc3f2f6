import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const root = resolve(import.meta.dirname, "../..");
const xds = (dir: string) => resolve(root, "node_modules/@grpc/grpc-js-xds/deps", dir);

/** The include path of our protos and the third-party ones, as buf sees them. */
export const PROTO_INCLUDE_DIRS = [
  resolve(root, "proto"),
  resolve(root, ".build/protovalidate"),
  xds("envoy-api"),
  xds("xds"),
  xds("googleapis"),
  xds("protoc-gen-validate"),
  resolve(root, "node_modules/@grpc/reflection/build/proto"),
  resolve(root, "node_modules/grpc-health-check/proto"),
];

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: PROTO_INCLUDE_DIRS,
};

type ServiceClientConstructor = grpc.ServiceClientConstructor;

/**
 * Loads a service from .proto files at run time (dynamic stubs, independent of
 * our generated TypeScript), as any grpc-js user would.
 */
export function loadService(protoFile: string, serviceName: string): ServiceClientConstructor {
  const definition = protoLoader.loadSync(protoFile, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(definition);
  let node: unknown = loaded;
  for (const part of serviceName.split(".")) node = (node as Record<string, unknown>)[part];
  if (typeof node !== "function") throw new Error(`service ${serviceName} not found in ${protoFile}`);
  return node as ServiceClientConstructor;
}

export function grpcAddress(url: string): string {
  return new URL(url).host;
}

/** Promisified unary call on a dynamic client. */
export function unary<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: Record<string, unknown>,
  metadata: Record<string, string> = {},
): Promise<T> {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  return new Promise((resolvePromise, reject) => {
    (client as unknown as Record<string, (...args: unknown[]) => void>)[method]!(
      request,
      md,
      { deadline: Date.now() + 30_000 },
      (error: grpc.ServiceError | null, response: T) => (error ? reject(error) : resolvePromise(response)),
    );
  });
}

export { grpc };

/** The google.rpc.ErrorInfo reason of a failed grpc-js call (from grpc-status-details-bin). */
export async function errorReason(error: grpc.ServiceError): Promise<string | undefined> {
  const { fromBinary } = await import("@bufbuild/protobuf");
  const { StatusSchema } = await import("../../src/gen/google/rpc/status_pb.js");
  const { ErrorInfoSchema } = await import("../../src/gen/google/rpc/error_details_pb.js");
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (raw === undefined) return undefined;
  const status = fromBinary(StatusSchema, raw as Buffer);
  for (const detail of status.details) {
    if (detail.typeUrl.endsWith("google.rpc.ErrorInfo"))
      return fromBinary(ErrorInfoSchema, detail.value).reason;
  }
  return undefined;
}

/** A grpc-js client of Envoy's `Authorization` service (ext_authz Check) on a Gatehouse at `url`. */
export function authorizationClient(
  url: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): grpc.Client {
  const Authorization = loadService(
    "envoy/service/auth/v3/external_auth.proto",
    "envoy.service.auth.v3.Authorization",
  );
  return new Authorization(grpcAddress(url), credentials);
}

/**
 * Envoy's Check of a GET / with this bearer token, as Envoy sends it: the gRPC status code of the
 * answer (0 allowed). The service is named by `service` (a route's context extension) or, without
 * one, found by the request's host.
 */
export async function checkStatus(
  client: grpc.Client,
  request: { readonly token: string; readonly host?: string; readonly service?: string },
): Promise<number> {
  const host = request.host ?? "api.internal";
  const response: any = await unary(client, "check", {
    attributes: {
      request: {
        http: {
          method: "GET",
          path: "/",
          host,
          headers: {
            authorization: `Bearer ${request.token}`,
            ":authority": host,
            "x-request-id": randomUUID(),
          },
        },
      },
      ...(request.service === undefined ? {} : { contextExtensions: { service: request.service } }),
    },
  });
  return response.status.code;
}
