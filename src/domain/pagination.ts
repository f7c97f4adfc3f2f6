import { DomainError } from "./errors.ts";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface Page<T> {
  readonly items: T[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/** page_size 0 means the default; the proto already bounds it. */
export function pageSize(requested: number): number {
  return requested <= 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/**
 * Keyset pagination cursors: the last row's sort key, opaque to callers
 * (base64url JSON). A cursor only ever selects rows *after* a key, so a deep
 * page costs what the first page costs.
 */
export function encodePageToken(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodePageToken(token: string, arity: number): (string | number)[] | undefined {
  if (token === "") return undefined;
  try {
    const key: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (
      Array.isArray(key) &&
      key.length === arity &&
      key.every((part) => typeof part === "string" || typeof part === "number")
    ) {
      return key;
    }
  } catch {
    // fall through
  }
  throw new DomainError("invalid_argument", "invalid_page_token", "page_token is not valid", {
    violations: [{ field: "page_token", description: "not a page token returned by this list" }],
  });
}

/** Builds a page from rows fetched with limit size + 1 (the extra row says whether more exist). */
export function toPage<T>(rows: T[], size: number, keyOf: (row: T) => readonly (string | number)[]): Page<T> {
  const items = rows.slice(0, size);
  const last = items[items.length - 1];
  return {
    items,
    nextPageToken: rows.length > size && last !== undefined ? encodePageToken(keyOf(last)) : "",
  };
}
