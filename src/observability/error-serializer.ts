/**
 * pino's `err` serializer, without the data a failed SQL statement carries.
 *
 * TypeORM's QueryFailedError has the statement's `parameters`, PGlite's error
 * its `params`, and PostgreSQL's `detail` ("Key (email)=(…) already exists")
 * and data-exception messages ('invalid input syntax for type uuid: "…"')
 * quote the values: logins, emails, names, password hashes, sealed tokens.
 * Those never reach a log line; the SQLSTATE, routine, constraint and the
 * statement text (placeholders only) are enough to diagnose.
 */

/** Keys dropped from a database error: values, or text that can quote them. */
const DATABASE_VALUE_KEYS = new Set(["parameters", "params", "detail", "where", "driverError", "raw"]);
const MAX_DEPTH = 5;
const REDACTED = "[redacted]";
const MIN_SCRUBBED_LENGTH = 4;

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly stack?: unknown;
  readonly cause?: unknown;
  readonly [key: string]: unknown;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return (
    value instanceof Error ||
    (typeof value === "object" && value !== null && "message" in value && "stack" in value)
  );
}

/** A PostgreSQL error (pg, PGlite) or TypeORM's wrapper of one. */
function isDatabaseError(error: ErrorLike): boolean {
  return (
    "query" in error ||
    "parameters" in error ||
    "params" in error ||
    "driverError" in error ||
    (typeof error.severity === "string" && typeof error.routine === "string")
  );
}

function sqlState(error: ErrorLike): string {
  if (typeof error.code === "string") return error.code;
  const driver = error.driverError as ErrorLike | undefined;
  return typeof driver?.code === "string" ? driver.code : "";
}

/** The strings bound as parameters anywhere in the error chain (nested arrays and objects too). */
function collectValues(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > MAX_DEPTH) return;
  if (typeof value === "string") {
    // Shorter values (flags, statuses) carry no personal data, and replacing them would garble the text.
    if (value.length >= MIN_SCRUBBED_LENGTH) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectValues(item, into, depth + 1);
  } else if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) {
    for (const item of Object.values(value)) collectValues(item, into, depth + 1);
  }
}

function chain(error: ErrorLike): ErrorLike[] {
  const errors: ErrorLike[] = [];
  let current: unknown = error;
  while (isErrorLike(current) && errors.length < MAX_DEPTH && !errors.includes(current)) {
    errors.push(current);
    if (isErrorLike(current.driverError)) errors.push(current.driverError);
    current = current.cause;
  }
  return errors;
}

function scrubber(error: ErrorLike): (text: string) => string {
  const values = new Set<string>();
  let dataException = false;
  for (const link of chain(error)) {
    if (!isDatabaseError(link)) continue;
    collectValues(link.parameters, values);
    collectValues(link.params, values);
    // Class 22 (data exception) messages quote the offending input.
    if (sqlState(link).startsWith("22")) dataException = true;
  }
  // Longest first, so a value containing another is replaced whole.
  const ordered = [...values].sort((a, b) => b.length - a.length);
  return (text) => {
    let result = text;
    for (const value of ordered) result = result.split(value).join(REDACTED);
    if (dataException) result = result.replace(/"[^"\n]*"/g, `"${REDACTED}"`);
    return result;
  };
}

function serialize(
  error: ErrorLike,
  scrub: (text: string) => string,
  depth: number,
): Record<string, unknown> {
  const database = isDatabaseError(error);
  const out: Record<string, unknown> = {
    type: typeof error.constructor === "function" ? error.constructor.name : error.name,
    message: scrub(String(error.message ?? "")),
  };
  if (typeof error.stack === "string") out.stack = scrub(error.stack);
  for (const key of Object.keys(error)) {
    if (key in out || key === "cause" || (database && DATABASE_VALUE_KEYS.has(key))) continue;
    const value = error[key];
    if (isErrorLike(value)) {
      if (depth < MAX_DEPTH) out[key] = serialize(value, scrub, depth + 1);
    } else {
      // The statement text is ours, with placeholders only.
      out[key] = typeof value === "string" && key !== "query" ? scrub(value) : value;
    }
  }
  if (database) {
    const code = sqlState(error);
    if (code !== "") out.code = code;
  }
  if (isErrorLike(error.cause) && depth < MAX_DEPTH) out.cause = serialize(error.cause, scrub, depth + 1);
  return out;
}

export function serializeError(value: unknown): unknown {
  if (!isErrorLike(value)) return value;
  return serialize(value, scrubber(value), 0);
}
