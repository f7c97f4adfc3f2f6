import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../../src/gen/google/rpc/error_details_pb.js";

/** What a person is told about a failed call: the server's own words, never "something went wrong". */
export interface DescribedError {
  readonly code: Code;
  /** E.g. "permission_denied", "not_found" (the Connect code's name). */
  readonly codeName: string;
  readonly message: string;
  /** google.rpc.ErrorInfo's reason, e.g. "last_admin", when the server sent one. */
  readonly reason: string | undefined;
  /** BadRequest field violations by field path ("profile.phone" → its description). */
  readonly fields: ReadonlyMap<string, string>;
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Code)
    .filter(([, value]) => typeof value === "number")
    .map(([name, value]) => [value, name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()]),
);

export function describeError(error: unknown): DescribedError {
  const connect = ConnectError.from(error);
  const info = connect.findDetails(ErrorInfoSchema)[0];
  const fields = new Map<string, string>();
  for (const bad of connect.findDetails(BadRequestSchema)) {
    for (const violation of bad.fieldViolations) fields.set(violation.field, violation.description);
  }
  return {
    code: connect.code,
    codeName: CODE_NAMES[connect.code] ?? "unknown",
    message: connect.rawMessage || "The request failed.",
    reason: info?.reason || undefined,
    fields,
  };
}

/**
 * The violation on a field or on anything inside it: a list's violations name an item
 * ("redirect_uris.uris[1]", "roles.roles[0]"), and the person sees them on the list's field.
 */
export const errorWithin = (fields: ReadonlyMap<string, string>, path: string): string | undefined =>
  fields.get(path) ??
  [...fields].find(([field]) => field.startsWith(`${path}.`) || field.startsWith(`${path}[`))?.[1];

export const isPermissionDenied = (error: unknown): boolean =>
  error != null && ConnectError.from(error).code === Code.PermissionDenied;
