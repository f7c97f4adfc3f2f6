import type { HttpRequest } from "../http-handler.ts";
import { type Html, html } from "./html.ts";

/** What went wrong with a submission: messages per field name, and ones about the whole form. */
export interface FormErrors {
  readonly fields: ReadonlyMap<string, string>;
  readonly form: readonly string[];
}

export const NO_ERRORS: FormErrors = { fields: new Map(), form: [] };

export const hasErrors = (errors: FormErrors) => errors.fields.size > 0 || errors.form.length > 0;

export interface FieldSpec {
  /** The form field's name; also names its id (`field-<name>`) and its error's. */
  readonly name: string;
  readonly label: string;
  readonly type?: "text" | "email" | "password" | "tel";
  /** The autocomplete token (username, email, new-password, current-password, given-name…). */
  readonly autocomplete: string;
  /** Echoed back after a failed submission (never for passwords). */
  readonly value?: string;
  readonly hint?: string;
  readonly required?: boolean;
  readonly maxLength?: number;
  readonly minLength?: number;
  readonly inputMode?: "text" | "email" | "numeric" | "tel";
  /** Focus it when the page opens with no errors (the first field of a form). */
  readonly autofocus?: boolean;
}

export const fieldId = (name: string) => `field-${name}`;

/**
 * A labelled input whose hint and error are tied to it (aria-describedby),
 * marked aria-invalid when it has an error. The first field in error takes
 * the focus (autofocus works without script), so keyboard and screen-reader
 * users land on what to fix.
 */
export function field(spec: FieldSpec, errors: FormErrors, focus: FocusPlan): Html {
  const id = fieldId(spec.name);
  const error = errors.fields.get(spec.name);
  const hintId = spec.hint === undefined ? undefined : `${id}-hint`;
  const errorId = error === undefined ? undefined : `${id}-error`;
  const describedBy = [hintId, errorId].filter((value) => value !== undefined).join(" ");
  const value = spec.type === "password" ? undefined : spec.value;
  const autofocus = focus.takes(spec.name, spec.autofocus === true);
  return html`<div class="field">
<label for="${id}">${spec.label}${spec.required === false ? html` <span class="optional">(optional)</span>` : ""}</label>
${hintId === undefined ? "" : html`<span class="hint" id="${hintId}">${spec.hint}</span>`}
<input id="${id}" name="${spec.name}" type="${spec.type ?? "text"}" autocomplete="${spec.autocomplete}"${
    value === undefined || value === "" ? "" : html` value="${value}"`
  }${spec.required === false ? "" : html` required`}${
    spec.maxLength === undefined ? "" : html` maxlength="${spec.maxLength}"`
  }${spec.minLength === undefined ? "" : html` minlength="${spec.minLength}"`}${
    spec.inputMode === undefined ? "" : html` inputmode="${spec.inputMode}"`
  }${describedBy === "" ? "" : html` aria-describedby="${describedBy}"`}${
    error === undefined ? "" : html` aria-invalid="true"`
  }${autofocus ? html` autofocus` : ""}${spec.type === "email" || spec.type === "password" ? html` spellcheck="false" autocapitalize="none"` : ""}>
${errorId === undefined ? "" : html`<span class="error" id="${errorId}">${error}</span>`}
</div>`;
}

/** Gives autofocus to one field only: the first in error, else the one that asks for it. */
export class FocusPlan {
  private readonly firstError: string | undefined;
  private given = false;
  constructor(errors: FormErrors, fieldOrder: readonly string[]) {
    this.firstError = fieldOrder.find((name) => errors.fields.has(name));
  }
  takes(name: string, wanted: boolean): boolean {
    if (this.given) return false;
    const take = this.firstError === undefined ? wanted : this.firstError === name;
    if (take) this.given = true;
    return take;
  }
}

/**
 * The visible list of problems above the form (role=alert: announced on load),
 * each field's linked to the field. Field errors whose field the form lacks
 * are listed as text, so no server message is ever dropped.
 */
export function errorSummary(errors: FormErrors, labels: ReadonlyMap<string, string>): Html {
  if (!hasErrors(errors)) return html``;
  const items = [
    ...errors.form.map((message) => html`<li>${message}</li>`),
    ...[...errors.fields].map(([name, message]) => {
      const label = labels.get(name);
      return label === undefined
        ? html`<li>${message}</li>`
        : html`<li><a href="#${fieldId(name)}">${label}: ${message}</a></li>`;
    }),
  ];
  return html`<div class="summary" role="alert" aria-labelledby="summary-title">
<h2 id="summary-title">${errors.form.length + errors.fields.size === 1 ? "There is a problem" : "There are problems"}</h2>
<ul>${items}</ul>
</div>`;
}

export const submitButton = (label: string): Html => html`<button type="submit">${label}</button>`;

export class FormError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A form body is a few fields: anything bigger is refused before it is buffered. */
const FORM_MAX_BYTES = 16 * 1024;

/** Reads an application/x-www-form-urlencoded body (what a form posts without script). */
export async function readForm(request: HttpRequest, maxBytes = FORM_MAX_BYTES): Promise<URLSearchParams> {
  const type = String(request.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new FormError(415, "the form must be posted as application/x-www-form-urlencoded");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new FormError(413, "the form is too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}
