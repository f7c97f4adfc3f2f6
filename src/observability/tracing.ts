import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { TracingConfig } from "../config/config.ts";

/**
 * OpenTelemetry tracing, built only when configured: with it off nothing here
 * runs and no interceptor or span exists on any path. Nothing is registered
 * globally; the tracer is passed to whoever makes spans.
 */
export interface Tracing {
  readonly tracer: Tracer;
  /** The parent context a W3C `traceparent` (and `tracestate`) carries; the root context without one. */
  extract(headers: HeaderSource): Context;
  /** Runs `fn` with `context` (an RPC's span) as the parent of the child spans made within it. */
  within<T>(context: Context, fn: () => T): T;
  /**
   * A CLIENT span for one call to a dependency (a query, a Redis command, a Keycloak request)
   * beneath the RPC span `fn` runs under; outside any RPC (pollers, start-up) just `fn`, so
   * background work makes no root spans. Attributes are names and kinds only, never a value
   * sent: a failure records its error's name, not its message.
   */
  childSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Header lookup by lower-case name: a Headers object, a Node headers record or Envoy's header map. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, unknown>>;

const getter: TextMapGetter<HeaderSource> = {
  keys: (carrier) => (typeof carrier.get === "function" ? [] : Object.keys(carrier)),
  get(carrier, key) {
    const value =
      typeof carrier.get === "function"
        ? (carrier as { get(name: string): unknown }).get(key)
        : (carrier as Record<string, unknown>)[key];
    if (typeof value === "string") return value;
    if (Array.isArray(value) && typeof value[0] === "string") return value[0];
    return undefined;
  },
};

export function createTracing(config: TracingConfig): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.tracesUrl }) })],
  });
  const propagator = new W3CTraceContextPropagator();
  const tracer = provider.getTracer("gatehouse");
  // Our own context store (no global context manager is registered): the RPC's context flows
  // through its awaits to the adapters it calls.
  const current = new AsyncLocalStorage<Context>();
  return {
    tracer,
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, getter),
    within: (context, fn) => current.run(context, fn),
    async childSpan(name, attributes, fn) {
      const parent = current.getStore();
      if (parent === undefined || trace.getSpan(parent) === undefined) return fn();
      const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
      try {
        return await current.run(trace.setSpan(parent, span), fn);
      } catch (error) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.name : "error",
        });
        throw error;
      } finally {
        span.end();
      }
    },
    shutdown: () => provider.shutdown(),
  };
}
