import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type ErrorKind, isDomainError } from "../../domain/errors.ts";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { Logger } from "../../observability/logger.ts";
import { kLogger } from "../context.ts";

export const ERROR_DOMAIN = "gatehouse";

const CODES: Record<ErrorKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  aborted: Code.Aborted,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  data_loss: Code.DataLoss,
  unimplemented: Code.Unimplemented,
  internal: Code.Internal,
};

/**
 * The one place where failures become Connect errors. Domain errors keep their
 * safe message and gain google.rpc.ErrorInfo (reason), BadRequest (field
 * violations) and RetryInfo details. Connect errors pass through. Anything else
 * is a bug or an outage we did not classify: the caller gets `internal` with
 * only an error id, and the full error is logged under that id.
 */
export function toConnectError(error: unknown, logger: Logger | undefined): ConnectError {
  if (isDomainError(error)) {
    const details: ConstructorParameters<typeof ConnectError>[3] = [
      {
        desc: ErrorInfoSchema,
        value: { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.metadata },
      },
    ];
    if (error.violations.length > 0) {
      details.push({
        desc: BadRequestSchema,
        value: {
          fieldViolations: error.violations.map((v) => ({ field: v.field, description: v.description })),
        },
      });
    }
    if (error.retryAfterMs !== undefined) {
      const seconds = Math.floor(error.retryAfterMs / 1000);
      details.push({
        desc: RetryInfoSchema,
        value: { retryDelay: { seconds: BigInt(seconds), nanos: (error.retryAfterMs % 1000) * 1e6 } },
      });
    }
    const code = CODES[error.kind];
    if (code === Code.Internal || code === Code.Unavailable || code === Code.DataLoss) {
      logger?.error({ err: error.cause ?? error, reason: error.reason }, error.message);
    }
    return new ConnectError(error.message, code, undefined, details, error);
  }
  if (error instanceof ConnectError) return error;
  const errorId = randomUUID();
  logger?.error({ err: error, errorId }, "unexpected error");
  return new ConnectError(`internal error (error id ${errorId})`, Code.Internal, undefined, [
    { desc: ErrorInfoSchema, value: { reason: "internal", domain: ERROR_DOMAIN, metadata: { errorId } } },
  ]);
}

export function errorMappingInterceptor(): Interceptor {
  return (next) => async (request) => {
    const logger = request.contextValues.get(kLogger);
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(request);
    } catch (error) {
      throw toConnectError(error, logger);
    }
    if (!response.stream) return response;
    // A streaming answer fails while it is read (WatchChanges' slow_consumer): map those too.
    const messages = response.message;
    return {
      ...response,
      message: (async function* () {
        try {
          yield* messages;
        } catch (error) {
          throw toConnectError(error, logger);
        }
      })(),
    };
  };
}
