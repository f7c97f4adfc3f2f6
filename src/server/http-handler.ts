import type http from "node:http";
import type http2 from "node:http2";

/** A request on either protocol the one port serves (HTTP/1.1 or HTTP/2). */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;
export type HttpHandler = (request: HttpRequest, response: HttpResponse) => void;

/** Serves GET and HEAD with `handler`; any other method is 405 with its Allow header. */
export const getOrHeadOnly =
  (handler: HttpHandler): HttpHandler =>
  (request, response) => {
    if (request.method === "GET" || request.method === "HEAD") {
      handler(request, response);
      return;
    }
    response.statusCode = 405;
    response.setHeader("allow", "GET, HEAD");
    response.end();
  };
