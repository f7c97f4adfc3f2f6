import { create, type DescFile, type MessageInitShape, type Registry, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ServerReflectionRequest,
  ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionResponseSchema as ServerReflectionResponseSchemaV1Alpha,
  ServerReflection as ServerReflectionV1Alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

const GRPC_NOT_FOUND = 5;
const GRPC_UNIMPLEMENTED = 12;

/**
 * Answers one reflection request. Files are sent with every transitive
 * dependency not yet sent on this stream, as grpc-go and grpc-java do.
 */
function answer(
  registry: Registry,
  filesByName: ReadonlyMap<string, DescFile>,
  serviceNames: readonly string[],
  request: ServerReflectionRequest,
  sent: Set<string>,
): MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"] {
  const filesWithDependencies = (file: DescFile) => {
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (sent.has(f.name)) return;
      sent.add(f.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: out } };
  };
  const notFound = (message: string) => ({
    case: "errorResponse" as const,
    value: { errorCode: GRPC_NOT_FOUND, errorMessage: message },
  });
  const message = request.messageRequest;
  switch (message.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };
    case "fileByFilename": {
      const file = filesByName.get(message.value);
      // A client asking again for a file must get it, even if sent before.
      if (file !== undefined) sent.delete(file.name);
      return file === undefined ? notFound(`file ${message.value} not found`) : filesWithDependencies(file);
    }
    case "fileContainingSymbol": {
      const symbol = message.value.replace(/^\./, "");
      const direct = registry.get(symbol);
      const parent = direct ?? registry.get(symbol.slice(0, Math.max(0, symbol.lastIndexOf("."))));
      const file = direct?.file ?? (parent?.kind === "service" ? parent.file : undefined);
      if (file === undefined) return notFound(`symbol ${symbol} not found`);
      sent.delete(file.name);
      return filesWithDependencies(file);
    }
    case "fileContainingExtension": {
      const extension = registry.getExtensionFor(
        registry.getMessage(message.value.containingType) ?? ({} as never),
        message.value.extensionNumber,
      );
      if (extension === undefined) return notFound("extension not found");
      sent.delete(extension.file.name);
      return filesWithDependencies(extension.file);
    }
    case "allExtensionNumbersOfType": {
      const numbers: number[] = [];
      for (const type of registry) {
        if (type.kind === "extension" && type.extendee.typeName === message.value) numbers.push(type.number);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: message.value, extensionNumber: numbers },
      };
    }
    default:
      return {
        case: "errorResponse",
        value: { errorCode: GRPC_UNIMPLEMENTED, errorMessage: "unsupported request" },
      };
  }
}

/** gRPC server reflection, v1 and v1alpha, so grpcurl, buf curl and Postman need no protos. */
export function createReflectionHandlers(
  registry: Registry,
  files: readonly DescFile[],
  serviceNames: readonly string[],
) {
  const filesByName = new Map(files.map((file) => [file.name, file]));
  const v1: Partial<ServiceImpl<typeof ServerReflectionV1>> = {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        yield create(ServerReflectionResponseSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(registry, filesByName, serviceNames, request, sent),
        });
      }
    },
  };
  const v1alpha: Partial<ServiceImpl<typeof ServerReflectionV1Alpha>> = {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        // v1alpha messages are wire-identical to v1's.
        const response = answer(
          registry,
          filesByName,
          serviceNames,
          request as unknown as ServerReflectionRequest,
          sent,
        );
        yield create(ServerReflectionResponseSchemaV1Alpha, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: response as never,
        });
      }
    },
  };
  return { v1, v1alpha, ServerReflectionV1, ServerReflectionV1Alpha };
}
