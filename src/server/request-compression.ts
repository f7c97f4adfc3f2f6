import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

/** The request encodings we accept, as grpc-accept-encoding lists them. */
export const ACCEPTED_ENCODINGS = "gzip,br";

/**
 * connect-node's gzip and brotli, except that bytes which do not decompress
 * are the client's error: connect-node answers INTERNAL for some zlib codes
 * (e.g. a brotli stream that ends early), and a client's bad bytes are never
 * INTERNAL. Too large after decompression stays RESOURCE_EXHAUSTED.
 */
function clientFaultOnBadBytes(compression: Compression): Compression {
  return {
    name: compression.name,
    compress: (bytes) => compression.compress(bytes),
    decompress: (bytes, readMaxBytes) =>
      compression.decompress(bytes, readMaxBytes).catch((error: unknown) => {
        if (error instanceof ConnectError && error.code === Code.Internal) {
          throw new ConnectError(error.rawMessage, Code.InvalidArgument, undefined, undefined, error.cause);
        }
        throw error;
      }),
  };
}

export const REQUEST_COMPRESSIONS: readonly Compression[] = [compressionGzip, compressionBrotli].map(
  clientFaultOnBadBytes,
);
