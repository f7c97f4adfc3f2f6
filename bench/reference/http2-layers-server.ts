/**
 * What each layer of a Node gRPC answer costs (BENCHMARKS.md finding 17): one
 * node:http2 server per mode, answering every POST alike, reading nothing else.
 *
 *   bare    the reference bare-h2-server.ts is: a 12-byte message, body ignored
 *   stream  reads the body to its end, then a 340-byte message with an
 *           x-request-id header and grpc-status trailers (what a Check answer moves)
 *   compat  the same through Node's compatibility API (Http2ServerRequest/Response)
 *
 *   scripts/node24.sh node bench/reference/http2-layers-server.ts <mode> <port>
 *
 * then drive it with h2load (e.g. `-D 6 -c 4 -m 16 -d <1,027-byte frame>`) and read its
 * CPU from /proc/<pid>/stat; not part of `npm run bench`.
 */
import http2 from "node:http2";

const [mode = "bare", port = "0"] = process.argv.slice(2);
const ANSWER = Buffer.alloc(5 + 340);
ANSWER.writeUInt32BE(340, 1);
const SMALL = Buffer.alloc(5 + 12);
SMALL.writeUInt32BE(12, 1);

let server: http2.Http2Server;
if (mode === "compat") {
  server = http2.createServer((request, response) => {
    request.on("data", () => {});
    request.once("end", () => {
      response.writeHead(200, { "content-type": "application/grpc", "x-request-id": "abc" });
      response.addTrailers({ "grpc-status": "0" });
      response.end(ANSWER);
    });
  });
} else {
  server = http2.createServer();
  server.on("stream", (stream) => {
    if (mode === "bare") {
      stream.on("data", () => {});
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(SMALL);
      return;
    }
    stream.on("data", () => {});
    stream.once("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "x-request-id": "abc" },
        { waitForTrailers: true },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(ANSWER);
    });
  });
}
server.listen(Number(port), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
