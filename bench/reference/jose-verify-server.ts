/**
 * The physical limit of verifying a token in Node on this machine: an
 * HTTP/1.1 server that reads `{"token": …}`, runs jose.jwtVerify against the
 * issuer's keys (fetched once at start from JWKS_URL, held locally) and
 * answers a constant JSON body: no lookup, no authorization, no framework.
 * Prints its port.
 */
import http from "node:http";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";

const jwksUrl = process.env.JWKS_URL;
if (jwksUrl === undefined) throw new Error("JWKS_URL is required");
const keys = createLocalJWKSet((await (await fetch(jwksUrl)).json()) as JSONWebKeySet);
const VALID = Buffer.from('{"valid":true}');
const INVALID = Buffer.from('{"valid":false}');

const server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", async () => {
    let body = INVALID;
    try {
      const { token } = JSON.parse(Buffer.concat(chunks).toString()) as { token: string };
      await jwtVerify(token, keys);
      body = VALID;
    } catch {
      // answered as invalid
    }
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    response.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address !== null ? address.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
