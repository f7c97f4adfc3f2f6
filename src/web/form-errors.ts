import { isDomainError } from "../domain/errors.ts";
import type { FormErrors } from "../server/pages/form.ts";

/**
 * A domain failure as the form shows it: each field violation next to its
 * field (the form fields are named like the proto fields the domain names),
 * anything else as the server's message in the summary. Not a DomainError:
 * rethrown, so the page answers 500 without the cause.
 */
export function formErrorsFrom(error: unknown): FormErrors {
  if (!isDomainError(error)) throw error;
  const fields = new Map<string, string>();
  for (const violation of error.violations) {
    const previous = fields.get(violation.field);
    fields.set(
      violation.field,
      previous === undefined ? violation.description : `${previous}; ${violation.description}`,
    );
  }
  return { fields, form: fields.size > 0 ? [] : [sentence(error.message)] };
}

/** "too many requests; retry in 30 s" → "Too many requests; retry in 30 s." */
export function sentence(message: string): string {
  const text = message.trim();
  if (text === "") return text;
  return `${text[0]!.toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;
}

export const fieldErrors = (entries: ReadonlyArray<[string, string]>): FormErrors => ({
  fields: new Map(entries),
  form: [],
});

/** The HTTP status a page answers a refused form with, by the domain error's kind. */
export function statusOfError(error: unknown): number {
  const kind = isDomainError(error) ? error.kind : "invalid_argument";
  switch (kind) {
    case "resource_exhausted":
      return 429;
    case "already_exists":
    case "aborted":
      return 409;
    case "permission_denied":
    case "failed_precondition":
      return 403;
    case "unauthenticated":
      return 401;
    case "unavailable":
      return 503;
    default:
      return 400;
  }
}

/** Seconds to send as Retry-After when the domain says when to retry. */
export function retryAfterSeconds(error: unknown): number | undefined {
  return isDomainError(error) && error.retryAfterMs !== undefined
    ? Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    : undefined;
}
