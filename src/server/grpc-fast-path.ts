import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
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
  readonly checkCaller?: ((stream: ServerHttp2Stream) => string | undefined) | undefined;
}

/**
 * Takes an HTTP/2 stream as it arrives, before Node's compatibility layer
 * makes a request and a response of it; returns true when it took the
 * stream, false leaves it to that layer (and so to Connect).
 */
export type GrpcFastPath = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

/**
 * The mesh's per-request calls (Envoy's ext_authz Check, gRPC health checks,
 * and the API services' VerifyToken) served straight from node:http2's
 * streams, without Connect's per-call machinery (async-iterable pipelines,
 * Headers objects, an AbortController whose abort() builds a DOMException
 * with a stack trace) and without Node's compatibility layer (a Readable
 * request and a response object per stream), which together cost most of an
 * empty call's CPU (see BENCHMARKS.md). Only the plain case takes this path:
 * gRPC over HTTP/2, `application/grpc` or `application/grpc+proto`, no
 * compression, no Origin (a browser's call needs CORS answers). Everything
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

  const context: FastPathContext = { options, tracing, names, encode };
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const route = routes.get(headers[":path"] ?? "");
    if (route === undefined) return false;
    const type = headers["content-type"];
    if (type !== "application/grpc" && type !== "application/grpc+proto") return false;
    const encoding = headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    // A browser's call: its answer needs the CORS headers the full server adds.
    if (headers.origin !== undefined) return false;
    const call = new FastCall(context, route, outcomes.get(route)!, stream, headers);
    (stream as CallStream)[kCall] = call;
    // Module-level listeners (the call hangs off the stream): no closures per call.
    stream.on("error", ignoreStreamError);
    stream.on("data", onData);
    stream.on("end", onEnd);
    return true;
  };
}

interface FastPathContext {
  readonly options: GrpcFastPathOptions;
  readonly tracing: Tracing | undefined;
  readonly names: ReadonlyMap<FastUnaryRoute, readonly [string, string]>;
  readonly encode: (route: FastUnaryRoute, output: object) => Buffer;
}

const kCall = Symbol("gatehouse.fastCall");
type CallStream = ServerHttp2Stream & { [kCall]: FastCall | undefined };

function onData(this: CallStream, chunk: Buffer): void {
  this[kCall]?.receive(chunk);
}

function onWantTrailers(this: CallStream): void {
  const call = this[kCall];
  if (call === undefined) return;
  this.sendTrailers(call.trailers);
  // The call is over. A closed stream can outlive a young-generation collection, and what it
  // still points to is then promoted with it: once it lets go, the call's objects (its headers,
  // request bytes and id) can die young (BENCHMARKS.md, finding 18).
  this[kCall] = undefined;
}

function onEnd(this: CallStream): void {
  const call = this[kCall];
  if (call === undefined) return;
  try {
    call.answer();
  } catch (error) {
    call.fail(error);
  }
}

/** One call on the fast path: its request's bytes as they arrive, then its answer. */
class FastCall {
  private readonly started = performance.now();
  private readonly requestId: string;
  private readonly timeout: ReturnType<typeof parseTimeout>;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;
  private size = 0;
  private span: RpcSpan | undefined;
  /** grpc-status and friends, sent when the stream asks for its trailers (onWantTrailers). */
  trailers: OutgoingHttpHeaders = OK_TRAILERS;
  private readonly context: FastPathContext;
  private readonly route: FastUnaryRoute;
  private readonly outcome: FastCallOutcome;
  private readonly stream: ServerHttp2Stream;
  private readonly headers: IncomingHttpHeaders;

  constructor(
    context: FastPathContext,
    route: FastUnaryRoute,
    outcome: FastCallOutcome,
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
  ) {
    this.context = context;
    this.route = route;
    this.outcome = outcome;
    this.stream = stream;
    this.headers = headers;
    const incomingId = headers["x-request-id"];
    this.requestId = requestIdFrom(typeof incomingId === "string" ? incomingId : undefined);
    const timeout = headers["grpc-timeout"];
    this.timeout =
      timeout === undefined ? NO_TIMEOUT : parseTimeout(headerValue(timeout), Number.MAX_SAFE_INTEGER);
  }

  receive(chunk: Buffer): void {
    this.size += chunk.length;
    // Keep counting past the limit (to answer once the body ends) without keeping the bytes.
    if (this.size > this.context.options.readMaxBytes + 5) return;
    if (this.first === undefined) this.first = chunk;
    else if (this.rest === undefined) this.rest = [chunk];
    else this.rest.push(chunk);
  }

  answer(): void {
    const input = this.decoded();
    const { route, context } = this;
    const tracing = context.tracing;
    if (tracing !== undefined) {
      // After decoding, as in Connect, where interceptors see only decoded requests.
      const [service, method] = context.names.get(route)!;
      const carrier = route.traceCarrier?.(input) ?? this.headers;
      const span = startRpcSpan(tracing, service, method, "grpc", tracing.extract(carrier));
      this.span = span;
      // A name, not a credential: the same attribute Connect's tracing interceptor sets.
      const caller =
        route.decisionCode === undefined ? undefined : context.options.checkCaller?.(this.stream);
      if (caller !== undefined) span.setAttribute("gatehouse.check.caller", caller);
      // With a span, what the decision looks up (database, Redis) becomes its children.
      const traced = tracing.within(span.context, () => route.handle(input));
      this.later(traced);
      return;
    }
    const handled = route.handle(input);
    // A warm Check or health check answers at once: no promise, no timer, no microtask.
    if (!isPromiseLike(handled)) this.succeed(handled);
    else this.later(handled);
  }

  fail(error: unknown): void {
    const failure = this.outcome.failed(error, this.requestId, this.started);
    this.span?.end(failure.code, Code[failure.code]);
    // As Connect answers a failure: headers, no message, grpc-status and details in the trailers.
    this.trailers = trailersFor(failure);
    this.respond();
  }

  private later(handled: unknown): void {
    withDeadline(handled, this.timeout.timeoutMs)
      .then((output) => this.succeed(output as object))
      .catch((error: unknown) => this.fail(error));
  }

  private succeed(output: object): void {
    const body = this.context.encode(this.route, output);
    this.span?.end(0, undefined, this.route.decisionCode?.(output as MessageShape<DescMessage>));
    this.respond(body);
    this.outcome.succeeded(this.started);
  }

  /** The answer: headers, the framed message (none on failure), then the trailers. */
  private respond(body?: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "x-request-id": this.requestId },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", onWantTrailers);
    stream.end(body);
  }

  /** The request's message, decoded; throws the ConnectError its bytes deserve. */
  private decoded(): unknown {
    if (this.timeout.error !== undefined) throw this.timeout.error;
    const { readMaxBytes } = this.context.options;
    if (this.size > readMaxBytes + 5) {
      throw new ConnectError(
        `message size is larger than configured readMaxBytes ${readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    const body =
      this.rest === undefined ? (this.first ?? EMPTY) : Buffer.concat([this.first!, ...this.rest], this.size);
    const message = unframe(body);
    try {
      return this.route.decode(message);
    } catch (error) {
      throw new ConnectError(`parse binary: ${(error as Error).message}`, Code.InvalidArgument);
    }
  }
}

const NO_TIMEOUT: ReturnType<typeof parseTimeout> = parseTimeout(null, Number.MAX_SAFE_INTEGER);

/**
 * A stream the client reset, or one that failed under us: nothing is left to
 * answer, and without a listener the error would end the process.
 */
function ignoreStreamError(): void {}

const EMPTY = Buffer.alloc(0);

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
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
function trailersFor(failure: ConnectError | undefined): OutgoingHttpHeaders {
  const trailers: Record<string, string> = {};
  setTrailerStatus(new Headers(), failure).forEach((value, key) => {
    trailers[key] = value;
  });
  return trailers;
}

const OK_TRAILERS: OutgoingHttpHeaders = trailersFor(undefined);
