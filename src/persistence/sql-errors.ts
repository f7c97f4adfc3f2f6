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
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection refused/i;

/** Whether the database could not be reached (as opposed to refusing a statement). */
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
