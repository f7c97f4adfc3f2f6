/** PostgreSQL's SQLSTATE for a unique violation (the same from pg and PGlite). */
const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const direct = (error as { code?: unknown }).code;
  if (typeof direct === "string") return direct;
  const driver = (error as { driverError?: { code?: unknown } }).driverError;
  return typeof driver?.code === "string" ? driver.code : undefined;
}

export const isUniqueViolation = (error: unknown): boolean => sqlState(error) === UNIQUE_VIOLATION;
export const isForeignKeyViolation = (error: unknown): boolean => sqlState(error) === FOREIGN_KEY_VIOLATION;

/** The violated constraint's name, to say which field clashed. */
export function violatedConstraint(error: unknown): string {
  if (typeof error !== "object" || error === null) return "";
  const direct = (error as { constraint?: unknown }).constraint;
  if (typeof direct === "string") return direct;
  const driver = (error as { driverError?: { constraint?: unknown } }).driverError;
  return typeof driver?.constraint === "string" ? driver.constraint : "";
}
