import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { cors as connectCors } from "@connectrpc/connect";
import type { ConnectionLimits, TlsConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "./http-handler.ts";
import { ACCEPTED_ENCODINGS } from "./request-compression.ts";
import { readTlsFiles, watchTlsFiles } from "./tls-credentials.ts";

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly corsOrigins: readonly string[];
  readonly shutdownGraceMs: number;
  readonly connections: ConnectionLimits;
  readonly logger: Logger;
  /** Plain HTTP routes (GET), by exact path: health probes, JWKS, discovery. */
  readonly plainRoutes: ReadonlyMap<string, HttpHandler>;
  /**
   * Plain HTTP routes by path prefix ("/console/"), tried after the exact ones: a prefix owns
   * every path below it, and its bare form ("/console") is redirected to it.
   */
  readonly prefixRoutes?: ReadonlyMap<string, HttpHandler>;
  /** Everything else: the Connect adapter. */
  readonly rpcHandler: HttpHandler;
  /** Takes the calls it serves off Connect (the Connect JSON fast path); returns false for the rest. */
  readonly fastPath?: (request: HttpRequest, response: HttpResponse) => boolean;
  /**
   * Takes HTTP/2 streams before Node's compatibility layer makes a request and a response of
   * them (the gRPC fast path); returns false for the rest, which go on as every other request.
   */
  readonly streamFastPath?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /** Serve TLS (ALPN h2 and http/1.1) instead of cleartext. */
  readonly tls?: TlsConfig | undefined;
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  /** Stops accepting, lets in-flight calls finish (up to the grace period), then closes. */
  close(): Promise<void>;
}

const H2_PREFACE_START = Buffer.from("PRI ");

/**
 * One port, every protocol: HTTP/2 cleartext with prior knowledge (gRPC from
 * sidecars and grpc-js, and Connect/gRPC-web over h2) and HTTP/1.1 (browsers:
 * Connect JSON and gRPC-web). The first bytes of each connection say which:
 * an HTTP/2 connection starts with the "PRI * HTTP/2.0" preface, which no
 * HTTP/1 request line can. With TLS, ALPN says which instead (h2, or
 * http/1.1 also for clients that offer none), and the handshake must finish
 * within the sniff timeout.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

  const allowOrigin = (origin: string | undefined): string | undefined => {
    // "null" is what sandboxed iframes, file: pages and some redirects send: any page can
    // claim it, so no setting allows it, not even "*".
    if (origin === undefined || origin === "null" || options.corsOrigins.length === 0) return undefined;
    if (options.corsOrigins.includes("*")) return origin;
    return options.corsOrigins.includes(origin) ? origin : undefined;
  };

  const redirectToPrefix =
    (prefix: string): HttpHandler =>
    (_request, response) => {
      response.statusCode = 308;
      response.setHeader("location", prefix);
      response.end();
    };
  const prefixRoute = (path: string): HttpHandler | undefined => {
    for (const [prefix, handler] of options.prefixRoutes ?? []) {
      if (path.startsWith(prefix)) return handler;
      if (`${path}/` === prefix) return redirectToPrefix(prefix);
    }
    return undefined;
  };

  // Streams the fast path takes are not counted one by one (a listener per stream costs more than
  // the count): a session told to close (GOAWAY) ends once its streams have, so the drain waits
  // for the requests counted here and for every HTTP/2 session.
  const checkDrained = () => {
    if (draining && inFlight === 0 && sessions.size === 0) drained?.();
  };

  const handle: HttpHandler = (request, response) => {
    const origin = allowOrigin(request.headers.origin as string | undefined);
    if (origin !== undefined) {
      response.setHeader("access-control-allow-origin", origin);
      response.setHeader("vary", "Origin");
      response.setHeader(
        "access-control-expose-headers",
        [...connectCors.exposedHeaders, "x-request-id"].join(", "),
      );
      if (request.method === "OPTIONS") {
        response.setHeader("access-control-allow-methods", connectCors.allowedMethods.join(", "));
        response.setHeader(
          "access-control-allow-headers",
          [...connectCors.allowedHeaders, "authorization", "x-request-id"].join(", "),
        );
        response.setHeader("access-control-max-age", "7200");
        response.statusCode = 204;
        response.end();
        return;
      }
    }
    // The gRPC spec: answering a compressed request (UNIMPLEMENTED for an encoding we lack)
    // names the encodings we accept. Connect drops that header from its errors' metadata.
    const encoding = request.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") {
      response.setHeader("grpc-accept-encoding", ACCEPTED_ENCODINGS);
    }
    const path = (request.url ?? "/").split("?")[0]!;
    const plain = options.plainRoutes.get(path) ?? prefixRoute(path);
    if (draining) response.setHeader("connection", "close");
    inFlight++;
    response.once("close", () => {
      inFlight--;
      checkDrained();
    });
    if (plain !== undefined) plain(request, response);
    else if (options.fastPath?.(request, response) !== true) options.rpcHandler(request, response);
  };

  const limits = options.connections;
  const h1 = http.createServer(
    {
      headersTimeout: limits.http1HeadersTimeoutMs,
      requestTimeout: limits.http1RequestTimeoutMs,
      keepAliveTimeout: limits.http1KeepAliveTimeoutMs,
      // Node enforces the two timeouts above only when this interval's check runs (30 s by default).
      connectionsCheckingInterval: Math.max(
        10,
        Math.min(30_000, Math.ceil(limits.http1HeadersTimeoutMs / 4)),
      ),
    },
    handle as http.RequestListener,
  );
  // h1 never listens (the TCP server below hands it connections), but Node starts tracking
  // connections, which the two timeouts above and closeIdleConnections() rely on, on "listening".
  h1.emit("listening");
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: limits.http2MaxConcurrentStreams } },
    handle as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  );
  if (options.streamFastPath !== undefined) {
    const streamFastPath = options.streamFastPath;
    // The one "stream" listener is Node's compatibility layer, which turns each stream into the
    // request and response `handle` gets: streams the fast path takes never reach it.
    const compatibility = h2.listeners("stream");
    if (compatibility.length !== 1)
      throw new Error(
        `expected node:http2's one compatibility "stream" listener, found ${compatibility.length}`,
      );
    const toCompatibility = compatibility[0] as (...args: unknown[]) => void;
    h2.removeAllListeners("stream");
    h2.on("stream", (stream, headers, flags, rawHeaders) => {
      if (!streamFastPath(stream, headers)) toCompatibility.call(h2, stream, headers, flags, rawHeaders);
    });
  }
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => {
      sessions.delete(session);
      checkDrained();
    });
    // No frame for this long: GOAWAY, so the client opens no new stream here; open streams may
    // finish, and a session without any (or one that never finished its preface) is destroyed now.
    session.setTimeout(limits.http2IdleTimeoutMs, () => session.close());
  });
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };

  let stopWatching = () => {};
  let listener: net.Server;
  if (options.tls === undefined) {
    listener = net.createServer((socket) => {
      track(socket);
      sniff(socket);
    });
  } else {
    const config = options.tls;
    const secure = tls.createServer({
      ...readTlsFiles(config),
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: limits.sniffTimeoutMs,
      requestCert: config.clientAuth !== "none",
      rejectUnauthorized: config.clientAuth === "require",
    });
    // "connection" is the TCP socket (closed on shutdown), "secureConnection" the TLS one on top.
    secure.on("connection", track);
    secure.on("secureConnection", (socket: tls.TLSSocket) => {
      socket.on("error", () => {});
      // "optional": a client may send no certificate, but one it sends must verify.
      if (
        config.clientAuth === "optional" &&
        !socket.authorized &&
        socket.getPeerCertificate().raw !== undefined
      ) {
        socket.destroy();
        return;
      }
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else h1.emit("connection", socket);
    });
    // Includes the handshake timeout; with a listener here Node leaves the socket open, so close it.
    secure.on("tlsClientError", (error, socket) => {
      options.logger.debug({ err: { message: error.message } }, "TLS handshake failed");
      socket.destroy();
    });
    stopWatching = watchTlsFiles(config, options.logger.child({ component: "tls" }), (files) =>
      secure.setSecureContext(files),
    );
    listener = secure;
  }

  function sniff(socket: net.Socket): void {
    // Until its first bytes say which protocol it speaks, a connection belongs to no server
    // and no server's timeouts apply to it: without this, one that sends nothing stays forever.
    const onSniffTimeout = () => socket.destroy();
    socket.setTimeout(limits.sniffTimeoutMs, onSniffTimeout);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < H2_PREFACE_START.length && H2_PREFACE_START.subarray(0, head.length).equals(head))
        return;
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.off("timeout", onSniffTimeout);
      socket.pause();
      socket.unshift(head);
      const isHttp2 = head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START);
      if (isHttp2) {
        // The HTTP/2 session feeds itself what is already buffered (socket.readableLength)
        // before reading from the handle, so it must not be resumed here.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address() as net.AddressInfo;
  const displayHost = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  options.logger.info(
    { port: address.port, host: options.host },
    options.tls === undefined ? "listening (h2c, HTTP/1.1)" : "listening (TLS: h2, HTTP/1.1)",
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      listener.close();
      stopWatching();
      // HTTP/2: GOAWAY lets clients finish open streams and open no new ones.
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      if (inFlight > 0 || sessions.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, options.shutdownGraceMs).unref();
        });
      }
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      h1.close();
      h2.close();
      options.logger.info({ unfinished: inFlight, sessions: sessions.size }, "server closed");
    })();
    return closing;
  };

  return {
    port: address.port,
    url: `${options.tls === undefined ? "http" : "https"}://${displayHost}:${address.port}`,
    close,
  };
}
