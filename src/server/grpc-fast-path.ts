import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Logger } from "../observability/logger.ts";
import { requestIdFrom } from "../observability/request-id.ts";
import type { RpcMethodSeries, RpcMetrics, RpcSeries } from "../observability/rpc-metrics.ts";
import type { HttpRequest, HttpResponse } from "./http-handler.ts";

/**
 * One unary method on the fast path: its path, how its request bytes are read
 * (a schema's decoder, or a reader that takes only what the handler needs),
 * the implementation, and the schema its answer is written with.
 */
export interface FastUnaryRoute<I = unknown, O extends DescMessage = DescMessage> {
  /** "/package.Service/Method". */
  readonly path: string;
  /** Throws on bytes that are not the method's request message. */
  readonly decode: (bytes: Uint8Array) => I;
  readonly handle: (request: I) => MessageShape<O> | Promise<MessageShape<O>>;
  readonly output: O;
}

export function fastUnaryRoute<I, O extends DescMessage>(route: FastUnaryRoute<I, O>): FastUnaryRoute {
  return route as unknown as FastUnaryRoute;
}

export interface GrpcFastPathOptions {
  readonly routes: readonly FastUnaryRoute[];
  /** Largest request message accepted (as Connect's readMaxBytes). */
  readonly readMaxBytes: number;
  readonly logger: Logger;
  /** The server's one error mapping (src/rpc/interceptors/error-mapping.ts). */
  readonly toConnectError: (error: unknown, logger: Logger) => ConnectError;
  /** Codes logged at warn (the caller's fault); any other failure is logged at error. */
  readonly clientCodes: ReadonlySet<Code>;
  /** Per-RPC metrics, shared with Connect's interceptor so both paths add to the same series. */
  readonly rpcMetrics?: RpcMetrics;
}

/** Returns true when it took the request; false leaves it to Connect. */
export type GrpcFastPath = (request: HttpRequest, response: HttpResponse) => boolean;

/**
 * The mesh's per-request calls (Envoy's ext_authz Check, and gRPC health
 * checks) served straight from node:http2, without Connect's per-call
 * machinery: Connect runs every unary call through async-iterable pipelines,
 * Headers objects and an AbortController whose abort() builds a DOMException
 * with a stack trace, which together cost most of an empty call's CPU (see
 * BENCHMARKS.md). Only the plain case takes this path: gRPC over HTTP/2,
 * `application/grpc` or `application/grpc+proto`, no compression. Everything
 * else (gRPC-web, Connect, JSON, compressed messages, HTTP/1.1) goes to
 * Connect, which serves the same methods with the same behaviour.
 *
 * What Connect's interceptors do for these calls is done here: the request id
 * (x-request-id in, echoed back), a log line for every failure, errors through
 * the one error mapping, gRPC deadlines (grpc-timeout) and the request size
 * limit. Rate limiting and bearer authentication do not apply to these
 * methods, and their requests carry no protovalidate rules.
 */
export function createGrpcFastPath(options: GrpcFastPathOptions): GrpcFastPath {
  const routes = new Map(options.routes.map((route) => [route.path, route]));
  // Series resolved now, so a call only adds to numbers (see RpcSeries).
  const seriesOf = new Map<FastUnaryRoute, { method: RpcMethodSeries; ok: RpcSeries }>();
  if (options.rpcMetrics !== undefined) {
    for (const route of options.routes) {
      const [service, method] = route.path.slice(1).split("/") as [string, string];
      const series = options.rpcMetrics.method(service, method);
      seriesOf.set(route, { method: series, ok: series.ok() });
    }
  }
  // Handlers that answer alike return the same object (createCheckResponder): frame it once.
  const framed = new WeakMap<object, Buffer>();
  const frameOnce = (route: FastUnaryRoute, output: object): Buffer => {
    let bytes = framed.get(output);
    if (bytes === undefined) {
      bytes = frame(toBinary(route.output, output as MessageShape<DescMessage>));
      framed.set(output, bytes);
    }
    return bytes;
  };

  const serve = (route: FastUnaryRoute, request: Http2ServerRequest, response: Http2ServerResponse) => {
    const started = performance.now();
    const series = seriesOf.get(route);
    const incomingId = request.headers["x-request-id"];
    const requestId = requestIdFrom(typeof incomingId === "string" ? incomingId : undefined);
    const timeout = parseTimeout(headerValue(request.headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const chunks: Buffer[] = [];
    let size = 0;

    const answer = async (): Promise<Buffer> => {
      if (timeout.error !== undefined) throw timeout.error;
      if (size > options.readMaxBytes + 5) {
        throw new ConnectError(
          `message size is larger than configured readMaxBytes ${options.readMaxBytes}`,
          Code.ResourceExhausted,
        );
      }
      const message = unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      let input: unknown;
      try {
        input = route.decode(message);
      } catch (error) {
        throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument);
      }
      return frameOnce(route, await withDeadline(route.handle(input), timeout.timeoutMs));
    };

    const fail = (error: unknown): Record<string, string> => {
      const failure = error instanceof ConnectError ? error : options.toConnectError(error, options.logger);
      const fields = {
        requestId,
        rpc: route.path.slice(1),
        code: Code[failure.code],
        ms: Math.round(performance.now() - started),
      };
      series?.method.code(failure.code).observe((performance.now() - started) / 1000);
      if (options.clientCodes.has(failure.code)) options.logger.warn(fields, "rpc failed");
      else options.logger.error(fields, "rpc failed");
      return trailersFor(failure);
    };

    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Keep counting past the limit (to answer once the body ends) without keeping the bytes.
      if (size <= options.readMaxBytes + 5) chunks.push(chunk);
    });
    request.once("end", () => {
      void answer().then(
        (body) => {
          send(response, requestId, OK_TRAILERS, body);
          series?.ok.observe((performance.now() - started) / 1000);
        },
        (error: unknown) => send(response, requestId, fail(error)),
      );
    });
  };

  return (request, response) => {
    if (request.httpVersionMajor !== 2 || request.method !== "POST") return false;
    const route = routes.get(request.url ?? "");
    if (route === undefined) return false;
    const headers = request.headers;
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    serve(route, request as Http2ServerRequest, response as Http2ServerResponse);
    return true;
  };
}

/** The answer: headers, the framed message (none on failure), then grpc-status in the trailers. */
function send(
  response: Http2ServerResponse,
  requestId: string,
  trailers: Readonly<Record<string, string>>,
  body?: Buffer,
): void {
  if (response.stream.destroyed || response.headersSent) return;
  response.writeHead(200, { "content-type": "application/grpc", "x-request-id": requestId });
  response.addTrailers(trailers);
  if (body === undefined) response.end();
  else response.end(body);
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** The message of a unary request body: exactly one uncompressed gRPC frame. */
function unframe(body: Buffer): Uint8Array {
  if (body.length < 5) throw new ConnectError("request body is not a gRPC message", Code.InvalidArgument);
  if (body[0] !== 0) {
    throw new ConnectError("compressed gRPC message without grpc-encoding", Code.InvalidArgument);
  }
  const length = body.readUInt32BE(1);
  if (length !== body.length - 5) {
    throw new ConnectError("a unary request must carry exactly one gRPC message", Code.InvalidArgument);
  }
  return body.subarray(5);
}

function frame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

function withDeadline<T>(work: T | Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return Promise.resolve(work);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
      timeoutMs,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** grpc-status and friends, written by Connect's own gRPC code. */
function trailersFor(failure: ConnectError | undefined): Record<string, string> {
  const trailers: Record<string, string> = {};
  setTrailerStatus(new Headers(), failure).forEach((value, key) => {
    trailers[key] = value;
  });
  return trailers;
}

const OK_TRAILERS: Readonly<Record<string, string>> = trailersFor(undefined);
