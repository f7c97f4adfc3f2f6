import { type Logger, pino } from "pino";
import { serializeError } from "./error-serializer.ts";

export type { Logger };

/**
 * Paths whose values never reach a log line, wherever they appear in an object
 * we log. Logging code should not pass secrets at all; this is the safety net.
 */
const REDACTED_PATHS = [
  "password",
  "*.password",
  "newPassword",
  "*.newPassword",
  "currentPassword",
  "*.currentPassword",
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "clientSecret",
  "*.clientSecret",
  "secret",
  "*.secret",
  "*.*.clientSecret",
  // The key encryption key (KEY_ENCRYPTION_KEY) wherever a config object is logged whole.
  "keyEncryptionKey",
  "*.keyEncryptionKey",
  "*.*.keyEncryptionKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "cookie",
  "*.cookie",
  // TypeORM's QueryFailedError carries the statement's parameters (hashes, sealed values).
  "err.parameters",
  "*.parameters",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "gatehouse" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream | undefined,
  );
}
