import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { HttpRequest } from "../http-handler.ts";

/** Forms and token requests are small; anything far larger is not one of ours. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * Reads an `application/x-www-form-urlencoded` body. RFC 6749 §3.1: a
 * parameter sent more than once is an invalid request, so the result maps
 * each name to its one value, and a repeated name throws invalid_request.
 */
export async function readForm(request: HttpRequest): Promise<Map<string, string>> {
  const type = String(request.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    request.resume();
    throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  const body = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        reject(new OAuthError("invalid_request", "the body is too large"));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
  return singleValued(new URLSearchParams(body));
}

/** The query or form parameters, each once; a repeated one is invalid_request (RFC 6749 §3.1). */
export function singleValued(params: URLSearchParams): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (values.has(name)) throw new OAuthError("invalid_request", `the parameter ${name} is repeated`);
    values.set(name, value);
  }
  return values;
}
