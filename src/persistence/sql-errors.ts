/** PostgreSQL's SQLSTATE for a unique violation (the same from pg and PGlite). */
const UNIQUE_VIOLATION = "23505";

function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const direct = (error as { code?: unknown }).code;
  if (typeof direct === "string") return direct;
  const driver = (error as { driverError?: { code?: unknown } }).driverError;
  return typeof driver?.code === "string" ? driver.code : undefined;
}

/** Node socket errors and PostgreSQL SQLSTATEs that mean "no usable connection", not a bad query. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "57014", // query_canceled: statement_timeout (DATABASE_STATEMENT_TIMEOUT_MS) on a server that answers
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection refused|Query read timeout/i;

/**
 * Whether the client gave up waiting for an answer (pg's query_timeout): the
 * connection may still have the statement in flight, so it must not be reused.
 */
export function isClientTimeout(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current.message.includes("Query read timeout")) return true;
    const driver = (current as { driverError?: unknown }).driverError;
    current = driver instanceof Error ? driver : current.cause;
  }
  return false;
}

/**
 * Whether the database could not be reached or did not answer in time (as
 * opposed to refusing a statement): the caller may retry, so UNAVAILABLE.
 */
export function isConnectionFailure(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return true;
  const message = error instanceof Error ? error.message : "";
  if (CONNECTION_MESSAGES.test(message)) return true;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause !== undefined && cause !== error && isConnectionFailure(cause);
}

export const isUniqueViolation = (error: unknown): boolean => sqlState(error) === UNIQUE_VIOLATION;

/** The violated constraint's name, to say which field clashed. */
export function violatedConstraint(error: unknown): string {
  if (typeof error !== "object" || error === null) return "";
  const direct = (error as { constraint?: unknown }).constraint;
  if (typeof direct === "string") return direct;
  const driver = (error as { driverError?: { constraint?: unknown } }).driverError;
  return typeof driver?.constraint === "string" ? driver.constraint : "";
}
