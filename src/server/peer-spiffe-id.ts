import type { ServerHttp2Stream } from "node:http2";
import type { HttpRequest } from "./http-handler.ts";

/** What a TLS socket (or HTTP/2's proxy of one) tells of its peer. */
interface PeerSocket {
  readonly authorized?: boolean;
  getPeerCertificate?(detailed?: boolean): { subjectaltname?: string };
}

/** Per connection (an HTTP/2 session or an HTTP/1.1 socket): the certificate is the same for each of its requests. */
const cache = new WeakMap<object, string | null>();

/**
 * The SPIFFE id (URI SAN `spiffe://…`) of the client certificate the
 * connection verified against TLS_CLIENT_CA_FILE; undefined without TLS,
 * without a certificate, or with one that did not verify (`authorized` is
 * checked, so under TLS_CLIENT_AUTH=optional a self-signed certificate
 * naming any id counts for nothing). X.509-SVIDs carry exactly one URI SAN;
 * with several, the first spiffe:// one is taken.
 */
export function peerSpiffeId(request: HttpRequest): string | undefined {
  const connection: object =
    "stream" in request && request.stream !== undefined
      ? (request.stream.session ?? request.socket)
      : request.socket;
  return cachedSpiffeId(connection, request.socket as unknown as PeerSocket);
}

/** The same for an HTTP/2 stream the gRPC fast path took (no request object made of it). */
export function streamPeerSpiffeId(stream: ServerHttp2Stream): string | undefined {
  const session = stream.session;
  if (session === undefined) return undefined;
  return cachedSpiffeId(session, session.socket as unknown as PeerSocket);
}

function cachedSpiffeId(connection: object, socket: PeerSocket): string | undefined {
  let id = cache.get(connection);
  if (id === undefined) {
    id = readSpiffeId(socket);
    cache.set(connection, id);
  }
  return id ?? undefined;
}

function readSpiffeId(socket: PeerSocket): string | null {
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") return null;
  const names = socket.getPeerCertificate(false).subjectaltname ?? "";
  // "DNS:a, URI:spiffe://td/path, IP Address:…"; a quoted entry (a name with a comma) is no SPIFFE id.
  for (const name of names.split(", ")) {
    if (name.startsWith("URI:spiffe://")) return name.slice(4);
  }
  return null;
}
