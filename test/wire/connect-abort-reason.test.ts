import http from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/health/v1/health_pb.js";

/**
 * patches/@connectrpc+connect+2.2.0.patch and @connectrpc+connect-node+2.2.0.patch:
 * at the end of every call Connect aborts the handler context's signal, and
 * connect-node the request's, each with no reason, so Node built a new
 * DOMException (capturing a stack trace) twice per call: ≈ 7.5% of a Connect
 * call's CPU in the profile (BENCHMARKS.md, findings 3 and 13). Patched, a
 * call that ends without an error aborts with one shared AbortError. These
 * fail on an unpatched install (a new reason per call).
 */
describe("Connect's end-of-call abort reason (patched)", () => {
  it("is one shared AbortError for the handler context of every call that ends without error", async () => {
    const signals: AbortSignal[] = [];
    const transport = createRouterTransport((router) =>
      router.service(Health, {
        check(_request, context) {
          signals.push(context.signal);
          return { status: HealthCheckResponse_ServingStatus.SERVING };
        },
      }),
    );
    const client = createClient(Health, transport);
    await client.check({});
    await client.check({});
    expect(signals).toHaveLength(2);
    for (const signal of signals) {
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(DOMException);
      expect((signal.reason as DOMException).name).toBe("AbortError");
    }
    expect(signals[0]!.reason).toBe(signals[1]!.reason);
  });

  it("is one shared AbortError for connect-node's request signal once a request closes without error", async () => {
    const signals: AbortSignal[] = [];
    const server = http.createServer((request, response) => {
      signals.push(universalRequestFromNodeRequest(request, response, undefined, undefined).signal);
      response.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      for (let i = 0; i < 2; i++) await (await fetch(url)).text();
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(signals).toHaveLength(2);
    for (const signal of signals) {
      expect(signal.aborted).toBe(true);
      expect((signal.reason as DOMException).name).toBe("AbortError");
    }
    expect(signals[0]!.reason).toBe(signals[1]!.reason);
  });
});
