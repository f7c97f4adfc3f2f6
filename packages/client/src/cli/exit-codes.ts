import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Exit statuses by kind of failure, so scripts can branch without parsing text.
 * Stable: documented in the README and in `gatehouse --help`.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unauthenticated: 3,
  permissionDenied: 4,
  notFound: 5,
  invalidArgument: 6,
  conflict: 7,
  unavailable: 8,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeOf(error: unknown): ExitCode {
  error = unwrapLocal(error);
  if (error instanceof UsageError) return ExitCode.usage;
  if (error instanceof NotSignedInError) return ExitCode.unauthenticated;
  if (!(error instanceof ConnectError)) return ExitCode.failure;
  switch (error.code) {
    case Code.Unauthenticated:
      return ExitCode.unauthenticated;
    case Code.PermissionDenied:
      return ExitCode.permissionDenied;
    case Code.NotFound:
      return ExitCode.notFound;
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return ExitCode.invalidArgument;
    case Code.AlreadyExists:
    case Code.FailedPrecondition:
    case Code.Aborted:
      return ExitCode.conflict;
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.ResourceExhausted:
      return ExitCode.unavailable;
    default:
      return ExitCode.failure;
  }
}

/** Connect wraps what an interceptor throws (a missing login) in a ConnectError: unwrap ours. */
export function unwrapLocal(error: unknown): unknown {
  const cause = error instanceof ConnectError ? error.cause : undefined;
  return cause instanceof UsageError || cause instanceof NotSignedInError ? cause : error;
}

/** Wrong flags or arguments: the command's usage is printed with the message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** No cached credentials for this server, or they expired beyond refresh. */
export class NotSignedInError extends Error {
  override readonly name = "NotSignedInError";
  constructor(server: string) {
    super(`not signed in to ${server}: run \`gatehouse login\``);
  }
}
