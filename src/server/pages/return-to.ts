/**
 * A `return_to` worth carrying: a path on our own origin ("/authorize?…"),
 * never an absolute URL, a scheme-relative "//evil.example", a backslash
 * trick ("/\\evil.example") or anything with control characters. Anything
 * else gives undefined, and the link goes without it (no open redirect).
 */
export function safeReturnTo(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === "" || value.length > 2048) return undefined;
  if (!value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  const base = "http://gatehouse.invalid";
  try {
    const url = new URL(value, base);
    if (url.origin !== base) return undefined;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return undefined;
  }
}

/** `path` with the return_to parameter when it is safe. */
export function withReturnTo(path: string, returnTo: string | undefined): string {
  if (returnTo === undefined) return path;
  return `${path}${path.includes("?") ? "&" : "?"}return_to=${encodeURIComponent(returnTo)}`;
}
