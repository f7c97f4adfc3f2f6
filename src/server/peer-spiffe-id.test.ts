import { describe, expect, it } from "vitest";
import type { HttpRequest } from "./http-handler.ts";
import { peerSpiffeId } from "./peer-spiffe-id.ts";

/** An HTTP/1.1 request on a TLS socket whose client certificate has these SANs. */
const requestOn = (authorized: boolean, subjectaltname: string) =>
  ({ socket: { authorized, getPeerCertificate: () => ({ subjectaltname }) } }) as unknown as HttpRequest;

describe("peerSpiffeId", () => {
  it("reads the spiffe:// URI SAN of a verified client certificate", () => {
    expect(
      peerSpiffeId(requestOn(true, "DNS:checkout, URI:spiffe://cluster.local/ns/shop/sa/checkout")),
    ).toBe("spiffe://cluster.local/ns/shop/sa/checkout");
  });

  it("ignores a certificate that did not verify, and one without a SPIFFE id", () => {
    expect(peerSpiffeId(requestOn(false, "URI:spiffe://cluster.local/ns/shop/sa/checkout"))).toBeUndefined();
    expect(peerSpiffeId(requestOn(true, "URI:https://cluster.local/x, DNS:a"))).toBeUndefined();
    expect(peerSpiffeId({ socket: {} } as unknown as HttpRequest)).toBeUndefined();
  });
});
