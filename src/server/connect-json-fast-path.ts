import type { ServerResponse } from "node:http";
import type { DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Compression,
  compressionNegotiate,
  createMethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
} from "@connectrpc/connect/protocol-connect";
import { requestIdFrom } from "../observability/request-id.ts";
import {
  createFastCallOutcome,
  type FastCallOutcome,
  type FastCallOutcomeOptions,
} from "./fast-call-outcome.ts";
import type { HttpRequest, HttpResponse } from "./http-handler.ts";
import { withDeadline } from "./with-deadline.ts";

/** One unary method served as Connect JSON off Connect's per-call path. */
export interface FastJsonRoute {
  readonly method: DescMethodUnary;
  /** The same implementation Connect serves (and, where the method has rules, the same validation). */
  readonly handle: (request: never) => unknown;
}

export function fastJsonRoute<M extends DescMethodUnary>(
  method: M,
  handle: (
    request: MessageShape<M["input"]>,
  ) => MessageShape<M["output"]> | Promise<MessageShape<M["output"]>>,
): FastJsonRoute {
  return { method, handle: handle as (request: never) => unknown };
}

/** Connect's jsonOptions, readMaxBytes, acceptCompression and compressMinBytes: the server's, passed to both. */
export interface ConnectJsonFastPathOptions extends FastCallOutcomeOptions {
  readonly routes: readonly FastJsonRoute[];
  readonly readMaxBytes: number;
  readonly jsonOptions: { readonly ignoreUnknownFields: boolean; readonly alwaysEmitImplicit: boolean };
  readonly acceptCompression: readonly Compression[];
  /** Connect's default: answers smaller than 1 KiB are not compressed. */
  readonly compressMinBytes?: number;
}

/** Returns true when it took the request; false leaves it to Connect. */
export type ConnectJsonFastPath = (request: HttpRequest, response: HttpResponse) => boolean;

interface Served {
  readonly route: FastJsonRoute;
  readonly path: string;
  readonly parse: (bytes: Uint8Array) => unknown;
  readonly serialize: (message: unknown) => Uint8Array;
  readonly outcome: FastCallOutcome;
}

const JSON_CONTENT_TYPE = "application/json";

/**
 * Hot unary calls that API services make as plain HTTP clients (VerifyToken,
 * seed 003's verify-token) served as Connect JSON straight from node:http,
 * beside Connect: Connect's per-call machinery (async-iterable pipelines,
 * Headers objects, a linked AbortController, a child logger) costs several
 * times the decision itself (BENCHMARKS.md, finding 13). Only the plain case
 * takes this path: a POST with a Connect unary JSON content type, an
 * uncompressed body and a content-length. Everything else (GET, binary,
 * compressed bodies, chunked bodies) goes to Connect.
 *
 * The answers are Connect's: the request is parsed and the response written
 * with Connect's own serialization (the same JSON options and size limits),
 * errors with its error JSON and HTTP status mapping, the response
 * compressed as Connect negotiates it, `connect-timeout-ms` parsed by
 * Connect. What the interceptors do for these methods is done here: request
 * id, failure log lines, RPC metrics, the one error mapping. Rate limits and
 * bearer authentication do not apply to them (see rate-limit.ts); the
 * route's handler runs the method's protovalidate rules.
 */
export function createConnectJsonFastPath(options: ConnectJsonFastPathOptions): ConnectJsonFastPath {
  const limits = { readMaxBytes: options.readMaxBytes, writeMaxBytes: 0xffffffff };
  const compressMinBytes = options.compressMinBytes ?? 1024;
  const routes = new Map<string, Served>();
  const written = new WeakMap<object, Uint8Array>();
  for (const route of options.routes) {
    const path = `/${route.method.parent.typeName}/${route.method.name}`;
    const serialization = createMethodSerializationLookup(
      route.method,
      undefined,
      options.jsonOptions,
      limits,
    );
    routes.set(path, {
      route,
      path,
      parse: (bytes) => serialization.getI(false).parse(bytes),
      serialize: (message) => {
        // Handlers that answer alike return the same object (a warm VerifyToken): write it once.
        let bytes = written.get(message as object);
        if (bytes === undefined) {
          bytes = serialization.getO(false).serialize(message as never);
          written.set(message as object, bytes);
        }
        return bytes;
      },
      outcome: createFastCallOutcome(path, options),
    });
  }

  const serve = (served: Served, request: HttpRequest, response: HttpResponse, length: number) => {
    const started = performance.now();
    const headers = request.headers;
    const incomingId = headers["x-request-id"];
    const requestId = requestIdFrom(typeof incomingId === "string" ? incomingId : undefined);
    const timeout = parseTimeout(single(headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER);
    const compression = compressionNegotiate(
      options.acceptCompression as Compression[],
      null,
      single(headers["accept-encoding"]),
      "Accept-Encoding",
    ).response;

    // Never rejects: a failure to compress (which no client can cause) ends the stream, logged.
    const reply = async (status: number, body: Uint8Array) => {
      const answer: Record<string, string> = { "content-type": JSON_CONTENT_TYPE, "x-request-id": requestId };
      let bytes = body;
      if (compression !== null && bytes.byteLength >= compressMinBytes) {
        try {
          bytes = await compression.compress(bytes);
        } catch (error) {
          options.logger.error({ err: error, requestId }, "response compression failed");
          response.destroy();
          return;
        }
        answer["content-encoding"] = compression.name;
      }
      answer["content-length"] = String(bytes.byteLength);
      if (response.headersSent || response.destroyed) return;
      // The two protocols' responses take the same arguments; TypeScript cannot call the union.
      (response as ServerResponse).writeHead(status, answer);
      response.end(bytes);
    };
    const fail = (error: unknown) => {
      const failure = served.outcome.failed(error, requestId, started);
      return reply(codeToHttpStatus(failure.code), errorToJsonBytes(failure, options.jsonOptions));
    };
    if (timeout.error !== undefined) {
      void fail(timeout.error);
      return;
    }
    // As Connect: a body promised larger than the limit is refused without reading it.
    if (length > options.readMaxBytes) {
      void fail(
        new ConnectError(
          `message size ${length} is larger than configured readMaxBytes ${options.readMaxBytes}`,
          Code.ResourceExhausted,
        ),
      );
      return;
    }
    const body = Buffer.allocUnsafe(length);
    let received = 0;
    request.on("data", (chunk: Buffer) => {
      if (received + chunk.length <= length) chunk.copy(body, received);
      received += chunk.length;
    });
    request.once("end", () => {
      const answer = async () => {
        if (received !== length) {
          throw new ConnectError(
            `protocol error: promised ${length} bytes, received ${received}`,
            Code.InvalidArgument,
          );
        }
        const input = served.parse(body);
        const output = await withDeadline(served.route.handle(input as never), timeout.timeoutMs);
        return served.serialize(output);
      };
      answer().then((bytes) => reply(200, bytes).then(() => served.outcome.succeeded(started)), fail);
    });
  };

  return (request, response) => {
    if (request.method !== "POST") return false;
    const served = routes.get(request.url ?? "");
    if (served === undefined) return false;
    const headers = request.headers;
    const type = parseContentType(headers["content-type"] ?? null);
    if (type === undefined || type.binary || type.stream) return false;
    const encoding = headers["content-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    const declared = headers["content-length"];
    if (declared === undefined || !/^\d{1,15}$/.test(declared)) return false;
    serve(served, request, response, Number(declared));
    return true;
  };
}

function single(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
