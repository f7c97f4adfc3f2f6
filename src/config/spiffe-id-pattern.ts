/** A valid CHECK_ALLOWED_SPIFFE_IDS entry: spiffe://<trust domain>/<path>, optionally ending in /* (RFC-ish: no query, fragment, port or user). */
export function isSpiffeIdPattern(entry: string): boolean {
  return (
    /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()+,;=:@%-]+)*(\/\*)?$/.test(entry) && entry.includes("/", 9)
  );
}
