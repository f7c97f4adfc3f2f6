import { Code } from "@connectrpc/connect";
import type { Registry } from "prom-client";

/** Upper bounds (seconds) of the RPC duration histogram: Check answers in tens of µs, Login in tens of ms. */
export const RPC_DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** gRPC's status 0, which Connect's Code enum leaves out (success is no error). */
const OK = 0;

/** gRPC's names for the status codes ("OK", "InvalidArgument", …), as grpc-go's `code.String()` spells them. */
const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, code) =>
  code === 0 ? "OK" : String(Code[code as Code]),
);

/**
 * The numbers behind one (service, method, code) series. Recording is two
 * additions and a bucket search: no label hashing (prom-client's labelled
 * children hash their labels on every call) and no allocation.
 */
export class RpcSeries {
  count = 0;
  sum = 0;
  /** Per bucket (not cumulative; the last one is +Inf). */
  readonly buckets = new Float64Array(RPC_DURATION_BUCKETS.length + 1);
  readonly service: string;
  readonly method: string;
  readonly code: string;

  constructor(service: string, method: string, code: Code | typeof OK) {
    this.service = service;
    this.method = method;
    this.code = CODE_NAMES[code] ?? String(code);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let bucket = 0;
    while (bucket < RPC_DURATION_BUCKETS.length && seconds > RPC_DURATION_BUCKETS[bucket]!) bucket++;
    this.buckets[bucket]!++;
  }
}

/** One method's series, by code; resolved once per method and kept by whoever calls it. */
export class RpcMethodSeries {
  readonly service: string;
  readonly method: string;
  private readonly byCode: Array<RpcSeries | undefined> = [];
  private readonly created: (series: RpcSeries) => void;

  constructor(service: string, method: string, created: (series: RpcSeries) => void) {
    this.service = service;
    this.method = method;
    this.created = created;
  }

  /** The series of successful calls. */
  ok(): RpcSeries {
    return this.code(OK);
  }

  /** The series of one outcome, created on first use (so an RPC only shows codes it answered). */
  code(code: Code | typeof OK): RpcSeries {
    let series = this.byCode[code];
    if (series === undefined) {
      series = new RpcSeries(this.service, this.method, code);
      this.byCode[code] = series;
      this.created(series);
    }
    return series;
  }
}

const REQUESTS_HELP =
  "RPCs answered, by service, method and gRPC status code (every protocol: gRPC, gRPC-web, Connect).";
const DURATION_HELP =
  "Time to answer an RPC (for server streams: until the stream starts), by service, method and code.";

/**
 * Per-RPC RED metrics, for Connect's calls and the gRPC fast path alike:
 * `gatehouse_rpc_requests_total{grpc_service,grpc_method,grpc_code}` and the histogram
 * `gatehouse_rpc_duration_seconds{grpc_service,grpc_method,grpc_code}` (time until the
 * answer, or for a stream until its first response is ready).
 */
export class RpcMetrics {
  private readonly methods = new Map<string, RpcMethodSeries>();
  private readonly all: RpcSeries[] = [];

  /** The series of "package.Service" / "Method"; look it up once and keep it on the hot path. */
  method(service: string, method: string): RpcMethodSeries {
    const key = `${service}/${method}`;
    let entry = this.methods.get(key);
    if (entry === undefined) {
      entry = new RpcMethodSeries(service, method, (series) => this.all.push(series));
      this.methods.set(key, entry);
    }
    return entry;
  }

  /** Adds both metrics to a registry; their values are read at scrape time. */
  register(registry: Registry): void {
    // grpc_* as go-grpc-prometheus names them; a plain `service` label would collide with the
    // target label the Prometheus Operator adds (the Kubernetes Service), and be renamed exported_service.
    const labels = (series: RpcSeries) => ({
      grpc_service: series.service,
      grpc_method: series.method,
      grpc_code: series.code,
    });
    registry.registerMetric({
      name: "gatehouse_rpc_requests_total",
      help: REQUESTS_HELP,
      type: "counter",
      get: () => ({
        name: "gatehouse_rpc_requests_total",
        help: REQUESTS_HELP,
        type: "counter",
        aggregator: "sum",
        values: this.all.map((series) => ({ labels: labels(series), value: series.count })),
      }),
    } as never);
    registry.registerMetric({
      name: "gatehouse_rpc_duration_seconds",
      help: DURATION_HELP,
      type: "histogram",
      get: () => {
        const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> =
          [];
        for (const series of this.all) {
          const base = labels(series);
          let cumulative = 0;
          for (let bucket = 0; bucket <= RPC_DURATION_BUCKETS.length; bucket++) {
            cumulative += series.buckets[bucket]!;
            const le = bucket < RPC_DURATION_BUCKETS.length ? RPC_DURATION_BUCKETS[bucket]! : "+Inf";
            values.push({
              metricName: "gatehouse_rpc_duration_seconds_bucket",
              labels: { ...base, le },
              value: cumulative,
            });
          }
          values.push({ metricName: "gatehouse_rpc_duration_seconds_sum", labels: base, value: series.sum });
          values.push({
            metricName: "gatehouse_rpc_duration_seconds_count",
            labels: base,
            value: series.count,
          });
        }
        return {
          name: "gatehouse_rpc_duration_seconds",
          help: DURATION_HELP,
          type: "histogram",
          aggregator: "sum",
          values,
        };
      },
    } as never);
  }
}
