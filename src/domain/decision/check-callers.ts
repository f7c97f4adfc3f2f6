/**
 * Which workloads may ask Gatehouse for decisions (Envoy's Check), by the
 * SPIFFE id of their mTLS client certificate: without such a list any client
 * that reaches the port can use Check as an oracle for whether a token is
 * valid and which services it opens. An entry is an exact id
 * (`spiffe://cluster.local/ns/shop/sa/checkout`) or a path prefix ending in
 * `/*` (`spiffe://cluster.local/ns/shop/*`: every workload of the namespace).
 */
export type CheckCallerPolicy = (spiffeId: string | undefined) => boolean;

export function checkCallerPolicy(entries: readonly string[]): CheckCallerPolicy {
  const exact = new Set(entries.filter((entry) => !entry.endsWith("/*")));
  // "spiffe://td/ns/*" → "spiffe://td/ns/": matches below the prefix only, never the prefix itself.
  const prefixes = entries.filter((entry) => entry.endsWith("/*")).map((entry) => entry.slice(0, -1));
  return (spiffeId) =>
    spiffeId !== undefined && (exact.has(spiffeId) || prefixes.some((prefix) => spiffeId.startsWith(prefix)));
}
