/**
 * The kinds a domain failure can have. They mirror the Connect/gRPC codes so the
 * mapping at the edge is one table, but the domain never imports Connect.
 */
export type ErrorKind =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "aborted"
  | "resource_exhausted"
  | "unavailable"
  | "data_loss"
  | "unimplemented"
  | "internal";

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface DomainErrorOptions {
  /** Safe-to-show metadata for google.rpc.ErrorInfo (never secrets). */
  readonly metadata?: Record<string, string>;
  readonly violations?: readonly FieldViolation[];
  /** For resource_exhausted: when the caller may retry. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

/**
 * A failure the caller may see: `kind` picks the code, `reason` is a stable
 * machine-readable id (google.rpc.ErrorInfo.reason), `message` is safe to show.
 * Diagnostics belong in `cause`, which is logged but never sent.
 */
export class DomainError extends Error {
  readonly kind: ErrorKind;
  readonly reason: string;
  readonly metadata: Record<string, string>;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs: number | undefined;

  constructor(kind: ErrorKind, reason: string, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DomainError";
    this.kind = kind;
    this.reason = reason;
    this.metadata = options.metadata ?? {};
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
