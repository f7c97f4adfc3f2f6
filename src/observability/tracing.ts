import { type Context, ROOT_CONTEXT, type TextMapGetter, type Tracer } from "@opentelemetry/api";
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
  return {
    tracer: provider.getTracer("gatehouse"),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, getter),
    shutdown: () => provider.shutdown(),
  };
}
