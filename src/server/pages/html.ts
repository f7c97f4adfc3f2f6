/**
 * HTML that cannot forget to escape: `html` is a tagged template whose every
 * interpolation is escaped unless it is itself `Html` made by `html`. There is
 * no way to turn a plain string into `Html` from outside this module, so a
 * value from a request, the database or the config always reaches the page
 * escaped. Attribute values must be quoted (`name="${value}"`): the escaping
 * covers quotes, so a value cannot leave its attribute.
 */
/** Known only to this module: nothing outside it can construct Html from a string. */
const MINT = Symbol("html");

export class Html {
  readonly #text: string;
  constructor(mint: symbol, text: string) {
    if (mint !== MINT) throw new TypeError("Html is made by the html`` template only");
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const trusted = (text: string) => new Html(MINT, text);

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
  "=": "&#61;",
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (character) => ESCAPES[character]!);
}

/** What may be interpolated: Html as is, text and numbers escaped, nothing for absent/false, arrays item by item. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.toString();
  if (value === null || value === undefined || value === false || value === true) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let text = strings[0]!;
  for (let index = 0; index < values.length; index++) {
    text += render(values[index]!) + strings[index + 1]!;
  }
  return trusted(text);
}

/** Joins fragments (each escaped unless Html) with an escaped separator. */
export function joinHtml(items: readonly HtmlValue[], separator = ""): Html {
  return trusted(items.map(render).join(escapeHtml(separator)));
}

/** The whole document: the doctype is the one piece of markup that is not an element. */
export function documentText(body: Html): string {
  return `<!doctype html>\n${body.toString()}`;
}
