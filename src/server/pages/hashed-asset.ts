import { createHash } from "node:crypto";
import { getOrHeadOnly, type HttpHandler } from "../http-handler.ts";

/**
 * A file the pages load from our own origin under a content hash (the stylesheet, the passkey
 * script): the CSP needs only 'self', and browsers may cache it for a year because new content
 * is a new path.
 */
export interface HashedAsset {
  /** e.g. /assets/pages-1a2b3c4d5e6f7a8b.css */
  readonly path: string;
  readonly handler: HttpHandler;
}

export function hashedAsset(name: string, extension: string, contentType: string, text: string): HashedAsset {
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const body = Buffer.from(text, "utf8");
  return {
    path: `/assets/${name}-${hash}.${extension}`,
    handler: getOrHeadOnly((request, response) => {
      response.statusCode = 200;
      response.setHeader("content-type", contentType);
      response.setHeader("content-length", String(body.length));
      response.setHeader("cache-control", "public, max-age=31536000, immutable");
      response.setHeader("x-content-type-options", "nosniff");
      response.setHeader("cross-origin-resource-policy", "same-origin");
      if (request.method === "HEAD") response.end();
      else response.end(body);
    }),
  };
}
