/**
 * The client's address as rate limits and the audit log should see it. With
 * `trustedProxyHops` proxies in front (an ingress, a load balancer), each
 * appends the address it received from to X-Forwarded-For; the entry that many
 * hops from the right is the first one a trusted proxy wrote, so a client
 * cannot choose its own address by sending the header. With 0, the socket's
 * peer is the client.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxyHops: number,
): string {
  const peer = socketAddress ?? "";
  if (trustedProxyHops === 0 || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor)
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  // hops[-1] came from the proxy next to us; each trusted proxy added one entry.
  return hops[hops.length - trustedProxyHops] ?? hops[0] ?? peer;
}
