/**
 * The physical limit of a cold Check on this stack: node:http2 reading the
 * same gRPC CheckRequest frames Gatehouse gets, taking the bearer token out
 * of the bytes (a search for "Bearer ", no protobuf decode), running
 * jose.jwtVerify against the issuer's keys (fetched once at start from
 * JWKS_URL, held locally) and answering one of two pre-encoded CheckResponses
 * (allow, or unauthenticated). No cache, no lookup, no authorization. Prints
 * its port.
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { CheckResponseSchema } from "../../src/gen/envoy/service/auth/v3/external_auth_pb.js";

const jwksUrl = process.env.JWKS_URL;
if (jwksUrl === undefined) throw new Error("JWKS_URL is required");
const keys = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);

const frame = (code: number): Buffer => {
  const bytes = toBinary(CheckResponseSchema, create(CheckResponseSchema, { status: { code } }));
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
};
const ALLOW = frame(0);
const DENY = frame(16);
const BEARER = Buffer.from("Bearer ");

/** The token after "Bearer ": base64url and dots, up to the first other byte. */
function bearerToken(body: Buffer): string | undefined {
  const start = body.indexOf(BEARER);
  if (start < 0) return undefined;
  let end = start + BEARER.length;
  for (; end < body.length; end++) {
    const c = body[end]!;
    const tokenByte =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x2e;
    if (!tokenByte) break;
  }
  return body.toString("latin1", start + BEARER.length, end);
}

const server = http2.createServer();
server.on("stream", (stream) => {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", async () => {
    let answer = DENY;
    const token = bearerToken(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    if (token !== undefined) {
      try {
        await jwtVerify(token, keys);
        answer = ALLOW;
      } catch {
        // answered as a deny
      }
    }
    if (stream.destroyed) return;
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(answer);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
