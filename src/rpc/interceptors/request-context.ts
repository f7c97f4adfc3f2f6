import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../observability/logger.ts";
import { requestIdFrom } from "../../observability/request-id.ts";
import { kLogger, kRequestId } from "../context.ts";

/** Client-side faults: logged at warn. Everything else that fails is ours: error. */
export const CLIENT_CODES: ReadonlySet<Code> = new Set([
  Code.Canceled,
  Code.InvalidArgument,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
  Code.Aborted,
  Code.OutOfRange,
  Code.Unauthenticated,
  Code.Unimplemented,
]);

/**
 * Outermost interceptor: gives every call a request id (the caller's
 * x-request-id when well-formed), a child logger, and one log line with the
 * outcome. Never logs messages or headers, only method, code and timing.
 */
export function requestContextInterceptor(logger: Logger): Interceptor {
  return (next) => async (request) => {
    const incoming = request.header.get("x-request-id");
    const requestId = requestIdFrom(incoming);
    const child = logger.child({ requestId, rpc: `${request.service.typeName}/${request.method.name}` });
    request.contextValues.set(kRequestId, requestId);
    request.contextValues.set(kLogger, child);
    const started = performance.now();
    try {
      const response = await next(request);
      response.header.set("x-request-id", requestId);
      child.debug({ code: "ok", ms: Math.round(performance.now() - started) }, "rpc");
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set("x-request-id", requestId);
      const fields = { code: Code[connectError.code], ms: Math.round(performance.now() - started) };
      if (CLIENT_CODES.has(connectError.code)) child.warn(fields, "rpc failed");
      else child.error(fields, "rpc failed");
      throw connectError;
    }
  };
}
