import http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.ts";
import { startHttpServer } from "./http-server.ts";

const LIMITS = {
  sniffTimeoutMs: 10_000,
  http1HeadersTimeoutMs: 10_000,
  http1RequestTimeoutMs: 10_000,
  http1KeepAliveTimeoutMs: 10_000,
  http2IdleTimeoutMs: 60_000,
  http2MaxConcurrentStreams: 100,
};

/** A server whose stream fast path takes POST /held and answers only when told to. */
async function serverWithHeldStreams() {
  let release: (() => void) | undefined;
  let taken: () => void = () => {};
  const takenOnce = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const server = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    corsOrigins: [],
    shutdownGraceMs: 60_000,
    connections: LIMITS,
    logger: createLogger("silent"),
    plainRoutes: new Map(),
    rpcHandler: (_request, response) => {
      response.statusCode = 200;
      response.end("compatibility layer");
    },
    streamFastPath: (stream, headers) => {
      if (headers[":method"] !== "POST" || headers[":path"] !== "/held") return false;
      stream.on("data", () => {});
      stream.once("end", () => {
        release = () => {
          stream.respond({ ":status": 200 });
          stream.end("fast path");
        };
        taken();
      });
      return true;
    },
  });
  return { server, takenOnce, release: () => release?.() };
}

function request(session: http2.ClientHttp2Session, method: string, path: string) {
  const stream = session.request({ ":method": method, ":path": path });
  stream.end();
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    let status = 0;
    let body = "";
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      body += chunk;
    });
    stream.on("end", () => resolve({ status, body }));
    stream.on("error", reject);
  });
}

describe("startHttpServer's stream fast path", () => {
  it("takes the streams it claims; every other stream reaches the compatibility layer", async () => {
    const { server, takenOnce, release } = await serverWithHeldStreams();
    const session = http2.connect(server.url);
    try {
      const held = request(session, "POST", "/held");
      await takenOnce;
      release();
      expect(await held).toEqual({ status: 200, body: "fast path" });
      expect(await request(session, "GET", "/other")).toEqual({ status: 200, body: "compatibility layer" });
    } finally {
      session.close();
      await server.close();
    }
  });

  it("lets a fast-path stream in flight finish before close() resolves", async () => {
    const { server, takenOnce, release } = await serverWithHeldStreams();
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const held = request(session, "POST", "/held");
    await takenOnce;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    // The server has sent GOAWAY and waits: the stream is not counted, its session is.
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    expect(await held).toEqual({ status: 200, body: "fast path" });
    await closing;
    expect(closed).toBe(true);
    session.destroy();
  });
});
