import http2 from "node:http2";
import { gzipSync } from "node:zlib";

export interface RawGrpcReply {
  /** grpc-status (0 = OK); from the trailers, or from the headers of a trailers-only answer. */
  readonly status: number;
  readonly message: string;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  /** The response body: gRPC frames as sent. */
  readonly body: Buffer;
}

/** A gRPC frame: the 5-byte prefix (compressed flag, length) and the message. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export const gzipFrame = (message: Uint8Array) => grpcFrame(gzipSync(message), true);

/** The message of a response body holding one uncompressed frame. */
export function grpcMessage(body: Buffer): Uint8Array {
  if (body.length < 5 || body[0] !== 0)
    throw new Error(`not one uncompressed gRPC frame (${body.length} bytes)`);
  return body.subarray(5, 5 + body.readUInt32BE(1));
}

/**
 * One unary gRPC call over raw node:http2 with exactly the bytes and headers
 * given: for requests no gRPC library would send (bad frames, odd headers).
 */
export function rawGrpcCall(
  url: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<RawGrpcReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let responseTrailers: http2.IncomingHttpHeaders = {};
    let status: number | undefined;
    let message = "";
    const readStatus = (source: http2.IncomingHttpHeaders) => {
      if (source["grpc-status"] === undefined) return;
      status = Number(source["grpc-status"]);
      message = decodeURIComponent(String(source["grpc-message"] ?? ""));
    };
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
      readStatus(h);
    });
    stream.on("trailers", (t) => {
      responseTrailers = t;
      readStatus(t);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      if (status === undefined) reject(new Error(`${path}: no grpc-status (rst ${stream.rstCode})`));
      else
        resolve({
          status,
          message,
          headers: responseHeaders,
          trailers: responseTrailers,
          body: Buffer.concat(chunks),
        });
    });
    stream.end(body);
  });
}
