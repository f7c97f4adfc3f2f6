import { DomainError } from "../domain/errors.ts";
import { decodePageToken } from "../domain/pagination.ts";
import { isUuid } from "./sql.ts";

const invalid = () =>
  new DomainError("invalid_argument", "invalid_page_token", "page_token is not valid", {
    violations: [{ field: "page_token", description: "not a page token returned by this list" }],
  });

/**
 * Decodes a (timestamp, id) cursor. The timestamp travels as PostgreSQL's own
 * text form (`created_at::text`): exact to the microsecond, which a JavaScript
 * Date is not, so no row is skipped or repeated between pages.
 */
export function decodeTimeIdCursor(token: string): { time: string; id: string } | undefined {
  const key = decodePageToken(token, 2);
  if (key === undefined) return undefined;
  const [time, id] = key;
  if (typeof time !== "string" || typeof id !== "string" || !isUuid(id) || Number.isNaN(Date.parse(time))) {
    throw invalid();
  }
  return { time, id };
}

/** Decodes a single-string cursor (e.g. a unique name). */
export function decodeNameCursor(token: string): string | undefined {
  const key = decodePageToken(token, 1);
  if (key === undefined) return undefined;
  if (typeof key[0] !== "string") throw invalid();
  return key[0];
}

/** `%text%` for ILIKE, with the pattern characters in `text` taken literally. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
