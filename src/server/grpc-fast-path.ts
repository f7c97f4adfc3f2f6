import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { requestIdFrom } from "../observability/request-id.ts";
import { type RpcSpan, startRpcSpan } from "../observability/rpc-span.ts";
import type { HeaderSource, Tracing } from "../observability/tracing.ts";
import {
  createFastCallOutcome,
  type FastCallOutcome,
  type FastCallOutcomeOptions,
} from "./fast-call-outcome.ts";
import type { HttpRequest, HttpResponse } from "./http-handler.ts";
import { withDeadline } from "./with-deadline.ts";

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
  /**
   * The handler answers alike with the same object (createCheckResponder, the
   * health answers): frame each such object once. Off for handlers that build
   * a new answer per call, where remembering would only cost.
   */
  readonly encodeOnce: boolean;
  /** With tracing on: the trace context to continue, when not the call's own headers (Check's). */
  readonly traceCarrier?: (request: I) => HeaderSource | undefined;
  /** With tracing on: the decision's google.rpc.Code in the answer, a span attribute (Check's). */
  readonly decisionCode?: (response: MessageShape<O>) => number;
}

export function fastUnaryRoute<I, O extends DescMessage>(route: FastUnaryRoute<I, O>): FastUnaryRoute {
  return route as unknown as FastUnaryRoute;
}

export interface GrpcFastPathOptions extends FastCallOutcomeOptions {
  readonly routes: readonly FastUnaryRoute[];
  /** Largest request message accepted (as Connect's readMaxBytes). */
  readonly readMaxBytes: number;
  /** Tracing, when on: a span per call. Off, nothing of it runs. */
  readonly tracing?: Tracing | undefined;
  /** With tracing and client certificates: Check's calling workload (SPIFFE id), for its span. */
  readonly checkCaller?: ((request: HttpRequest) => string | undefined) | undefined;
}

/** Returns true when it took the request; false leaves it to Connect. */
export type GrpcFastPath = (request: HttpRequest, response: HttpResponse) => boolean;

/**
 * The mesh's per-request calls (Envoy's ext_authz Check, gRPC health checks,
 * and the API services' VerifyToken) served straight from node:http2, without Connect's per-call
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
  const outcomes = new Map<FastUnaryRoute, FastCallOutcome>(
    options.routes.map((route) => [route, createFastCallOutcome(route.path, options)]),
  );
  const tracing = options.tracing;
  const names = new Map(
    options.routes.map((route) => [route, route.path.slice(1).split("/") as [string, string]]),
  );
  // Handlers that answer alike return the same object (createCheckResponder): frame it once.
  const framed = new WeakMap<object, Buffer>();
  const encode = (route: FastUnaryRoute, output: object): Buffer => {
    if (!route.encodeOnce) return frame(toBinary(route.output, output as MessageShape<DescMessage>));
    let bytes = framed.get(output);
    if (bytes === undefined) {
      bytes = frame(toBinary(route.output, output as MessageShape<DescMessage>));
      framed.set(output, bytes);
    }
    return bytes;
  };

  const serve = (route: FastUnaryRoute, request: Http2ServerRequest, response: Http2ServerResponse) => {
    const started = performance.now();
    const outcome = outcomes.get(route)!;
    const incomingId = request.headers["x-request-id"];
    const requestId = requestIdFrom(typeof incomingId === "string" ? incomingId : undefined);
    const timeout = parseTimeout(headerValue(request.headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    const chunks: Buffer[] = [];
    let size = 0;
    let span: RpcSpan | undefined;

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
      if (tracing !== undefined) {
        // After decoding, as in Connect, where interceptors see only decoded requests.
        const [service, method] = names.get(route)!;
        const carrier = route.traceCarrier?.(input) ?? request.headers;
        span = startRpcSpan(tracing, service, method, "grpc", tracing.extract(carrier));
        // A name, not a credential: the same attribute Connect's tracing interceptor sets.
        const caller = route.decisionCode === undefined ? undefined : options.checkCaller?.(request);
        if (caller !== undefined) span.setAttribute("gatehouse.check.caller", caller);
      }
      // With a span, what the decision looks up (database, Redis) becomes its children.
      const handled =
        span === undefined ? route.handle(input) : tracing!.within(span.context, () => route.handle(input));
      const output = await withDeadline(handled, timeout.timeoutMs);
      const body = encode(route, output);
      span?.end(0, undefined, route.decisionCode?.(output));
      return body;
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
          outcome.succeeded(started);
        },
        (error: unknown) => {
          const failure = outcome.failed(error, requestId, started);
          span?.end(failure.code, Code[failure.code]);
          send(response, requestId, trailersFor(failure));
        },
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

/** grpc-status and friends, written by Connect's own gRPC code. */
function trailersFor(failure: ConnectError | undefined): Record<string, string> {
  const trailers: Record<string, string> = {};
  setTrailerStatus(new Headers(), failure).forEach((value, key) => {
    trailers[key] = value;
  });
  return trailers;
}

const OK_TRAILERS: Readonly<Record<string, string>> = trailersFor(undefined);
