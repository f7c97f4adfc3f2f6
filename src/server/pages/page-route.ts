import { randomUUID } from "node:crypto";
import type { Logger } from "../../observability/logger.ts";
import { requestIdFrom } from "../../observability/request-id.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "../http-handler.ts";
import { FormError, readForm } from "./form.ts";
import { html } from "./html.ts";
import type { PageShell } from "./page-shell.ts";

/** What a page handler is given: the request, its id (for the audit log and logs), and the query. */
export interface PageRequest {
  readonly request: HttpRequest;
  readonly response: HttpResponse;
  readonly requestId: string;
  readonly query: URLSearchParams;
  readonly logger: Logger;
}

export interface PageHandlers {
  readonly get?: (page: PageRequest) => Promise<void>;
  /** Called only after the form's CSRF token was verified. */
  readonly post?: (page: PageRequest, form: URLSearchParams) => Promise<void>;
}

/**
 * One hosted page as a plain route: GET/HEAD render it, POST reads the form
 * and refuses it (403) unless its CSRF token verifies, before the page's own
 * code sees a single field, so no form can skip the check. Errors that escape
 * a handler become a generic 500 (or 503 while a dependency is unavailable)
 * page with an error id; the cause is logged, never shown.
 */
export function pageRoute(shell: PageShell, logger: Logger, handlers: PageHandlers): HttpHandler {
  const allow = [...(handlers.get ? ["GET", "HEAD"] : []), ...(handlers.post ? ["POST"] : [])];
  return (request, response) => {
    const requestId = requestIdFrom(request.headers["x-request-id"] as string | undefined);
    const page: PageRequest = {
      request,
      response,
      requestId,
      query: new URL(request.url ?? "/", "http://gatehouse.invalid").searchParams,
      logger: logger.child({ requestId, page: (request.url ?? "/").split("?")[0] }),
    };
    response.setHeader("x-request-id", requestId);
    const run = async () => {
      if ((request.method === "GET" || request.method === "HEAD") && handlers.get) return handlers.get(page);
      if (request.method === "POST" && handlers.post) {
        const form = await readForm(request);
        if (!(await shell.csrf.verify(request, form))) return refuseForgedForm(shell, page);
        return handlers.post(page, form);
      }
      shell.methodNotAllowed(response, allow);
    };
    run().catch((error: unknown) => failed(shell, page, error));
  };
}

function refuseForgedForm(shell: PageShell, page: PageRequest): void {
  page.logger.warn("form refused: missing or wrong CSRF token");
  shell.send(page.request, page.response, {
    status: 403,
    title: "This form has expired",
    lede: "For your safety the form was not accepted: it was not sent from this page, or it is too old.",
    body: html`<p>Go back, reload the page and try again.</p>`,
  });
}

function failed(shell: PageShell, page: PageRequest, error: unknown): void {
  if (page.response.headersSent) {
    page.response.destroy?.();
    return;
  }
  if (error instanceof FormError) {
    shell.send(page.request, page.response, {
      status: error.status,
      title: "That form could not be read",
      body: html`<p>${error.message}.</p>`,
    });
    return;
  }
  // Structural, not an import: the shell is transport and knows no domain types.
  const unavailable = (error as { kind?: unknown } | null)?.kind === "unavailable";
  const errorId = randomUUID();
  page.logger.error({ err: error, errorId }, "hosted page failed");
  shell.send(page.request, page.response, {
    status: unavailable ? 503 : 500,
    title: unavailable ? "Temporarily unavailable" : "Something went wrong",
    lede: unavailable
      ? "The service cannot answer right now. Please try again in a minute."
      : "The page could not be shown because of a problem on our side.",
    body: html`<p>If it keeps happening, give this reference to your administrator: <code>${errorId}</code></p>`,
  });
}
