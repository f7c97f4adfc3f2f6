/**
 * The physical limit of a Node gRPC server on this machine: node:http2 answering
 * every stream with the same pre-encoded gRPC frame (a CheckResponse-sized
 * message) and OK trailers, reading nothing of the request. Prints its port.
 */
import http2 from "node:http2";

const MESSAGE = Buffer.alloc(5 + 12);
MESSAGE.writeUInt32BE(12, 1);
const server = http2.createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
  stream.end(MESSAGE);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
