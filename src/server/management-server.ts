import http from "node:http";
import type net from "node:net";
import type { Logger } from "../observability/logger.ts";
import type { HttpHandler } from "./http-handler.ts";
import type { RunningServer } from "./http-server.ts";

export interface ManagementServerOptions {
  readonly host: string;
  readonly port: number;
  /** GET routes by exact path: /metrics, /healthz, /readyz. */
  readonly routes: ReadonlyMap<string, HttpHandler>;
  readonly logger: Logger;
}

/**
 * The optional management port (MANAGEMENT_PORT): plain HTTP/1.1 for probes
 * and Prometheus, so they need not be reachable where the API is (the API
 * port may face the ingress; this one only the kubelet and the scraper).
 */
export async function startManagementServer(options: ManagementServerOptions): Promise<RunningServer> {
  const server = http.createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000 },
    (request, response) => {
      const route = options.routes.get((request.url ?? "/").split("?")[0]!);
      if (route === undefined || (request.method !== "GET" && request.method !== "HEAD")) {
        response.statusCode = route === undefined ? 404 : 405;
        response.end();
        return;
      }
      route(request, response);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const displayHost = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  options.logger.info({ port: address.port, host: options.host }, "management port listening");
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    url: `http://${displayHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
