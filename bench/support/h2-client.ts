import http2 from "node:http2";

export interface GrpcReply {
  /** grpc-status (0 = OK). */
  readonly status: number;
  readonly message: string;
  /** The response body (gRPC frames). */
  readonly body: Buffer;
}

/**
 * A minimal gRPC unary client over one HTTP/2 connection (node:http2), for
 * validating responses and for probes that need a timestamp per call (the
 * revocation benchmark). Sends pre-encoded frames, so it measures the server,
 * not a client library.
 */
export class H2GrpcClient {
  private readonly session: http2.ClientHttp2Session;
  private readonly authority: string;

  constructor(url: string) {
    this.authority = url;
    this.session = http2.connect(url);
    this.session.on("error", () => {});
  }

  unary(path: string, frame: Buffer, headers: Record<string, string> = {}): Promise<GrpcReply> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = "";
      const readStatus = (source: http2.IncomingHttpHeaders) => {
        const value = source["grpc-status"];
        if (value !== undefined) {
          status = Number(value);
          message = decodeURIComponent(String(source["grpc-message"] ?? ""));
        }
      };
      stream.on("response", readStatus);
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => {
        if (status === undefined) reject(new Error(`${path}: no grpc-status (rst ${stream.rstCode})`));
        else resolve({ status, message, body: Buffer.concat(chunks) });
      });
      stream.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }

  toString(): string {
    return `H2GrpcClient(${this.authority})`;
  }
}
