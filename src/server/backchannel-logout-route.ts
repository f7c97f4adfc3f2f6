import type { Logger } from "../observability/logger.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "./http-handler.ts";

/** Where the realm's clients post logout tokens (their `backchannel.logout.url`). */
export const BACKCHANNEL_LOGOUT_PATH = "/oidc/backchannel-logout";

/** What the receiver made of a logout token (the domain's BackchannelLogout.handle). */
export type LogoutTokenHandler = (logoutToken: string) => Promise<{
  readonly outcome: "revoked" | "refused" | "unavailable";
  readonly reason?: string;
  readonly message?: string;
}>;

/** A logout token is a JWT of a few hundred bytes; anything far larger is not one. */
const MAX_BODY_BYTES = 16 * 1024;

function answer(response: HttpResponse, status: number, body?: unknown): void {
  response.statusCode = status;
  response.setHeader("cache-control", "no-store");
  if (body === undefined) {
    response.end();
    return;
  }
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify(body));
}

function readBody(request: HttpRequest): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/**
 * OIDC Back-Channel Logout 1.0 receiver (§2.5, §2.8): a form POST with
 * `logout_token`; 200 once the session is revoked on every replica, 400 with
 * `invalid_request` for a token that fails any check (forged, expired,
 * replayed…), 503 while the realm's keys cannot be fetched. The token is
 * never logged.
 */
export function backchannelLogoutRoute(handle: LogoutTokenHandler, logger: Logger): HttpHandler {
  return (request, response) => {
    if (request.method !== "POST") {
      response.setHeader("allow", "POST");
      answer(response, 405);
      return;
    }
    const type = String(request.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim()
      .toLowerCase();
    void (async () => {
      const body = await readBody(request);
      const token =
        body === undefined || type !== "application/x-www-form-urlencoded"
          ? undefined
          : new URLSearchParams(body).get("logout_token");
      if (token === undefined || token === null || token === "") {
        answer(response, 400, { error: "invalid_request", error_description: "logout_token is required" });
        return;
      }
      const result = await handle(token);
      if (result.outcome === "revoked") {
        answer(response, 200);
      } else if (result.outcome === "refused") {
        logger.warn({ reason: result.reason }, "back-channel logout refused");
        answer(response, 400, { error: "invalid_request", error_description: result.message ?? "" });
      } else {
        logger.warn({ reason: result.reason }, "back-channel logout: the provider's keys are unreachable");
        answer(response, 503, { error: "temporarily_unavailable" });
      }
    })().catch((error: unknown) => {
      logger.error({ err: error }, "back-channel logout failed");
      answer(response, 500, { error: "server_error" });
    });
  };
}
