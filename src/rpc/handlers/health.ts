import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/health/v1/health_pb.js";

/** What the health service reports: overall readiness, and the services we serve. */
export interface HealthSource {
  isServing(): boolean;
  readonly serviceNames: readonly string[];
  /** Resolves when the server starts shutting down. */
  readonly shuttingDown: Promise<void>;
}

const WATCH_INTERVAL_MS = 1000;

function servingStatus(source: HealthSource, service: string): HealthCheckResponse_ServingStatus | undefined {
  if (service !== "" && !source.serviceNames.includes(service)) return undefined;
  return source.isServing()
    ? HealthCheckResponse_ServingStatus.SERVING
    : HealthCheckResponse_ServingStatus.NOT_SERVING;
}

/** Health/Check, for Connect and for the gRPC fast path alike. */
export function createHealthCheck(
  source: HealthSource,
): (request: HealthCheckRequest) => HealthCheckResponse {
  // Two possible answers, made once (the gRPC fast path then encodes each once too).
  const serving = create(HealthCheckResponseSchema, { status: HealthCheckResponse_ServingStatus.SERVING });
  const notServing = create(HealthCheckResponseSchema, {
    status: HealthCheckResponse_ServingStatus.NOT_SERVING,
  });
  return (request) => {
    const status = servingStatus(source, request.service);
    if (status === undefined) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
    return status === HealthCheckResponse_ServingStatus.SERVING ? serving : notServing;
  };
}

/** grpc.health.v1.Health: "" is the whole server; named services share its status. */
export function createHealthHandler(source: HealthSource): Partial<ServiceImpl<typeof Health>> {
  const statusOf = (service: string) => servingStatus(source, service);
  const check = createHealthCheck(source);
  return {
    check,
    list() {
      return {
        statuses: Object.fromEntries(
          ["", ...source.serviceNames].map((name) => [
            name,
            create(HealthCheckResponseSchema, { status: statusOf(name) }),
          ]),
        ),
      };
    },
    async *watch(request, context) {
      let last: HealthCheckResponse_ServingStatus | undefined;
      let stopping = false;
      void source.shuttingDown.then(() => {
        stopping = true;
      });
      while (!context.signal.aborted) {
        const status = stopping
          ? HealthCheckResponse_ServingStatus.NOT_SERVING
          : (statusOf(request.service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN);
        if (status !== last) {
          last = status;
          yield create(HealthCheckResponseSchema, { status });
        }
        if (stopping) return;
        await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS).unref());
      }
    },
  };
}
