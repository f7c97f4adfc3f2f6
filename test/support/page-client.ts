/**
 * A browser without script, over plain HTTP: keeps cookies, reads a page's
 * form (action, hidden fields such as the CSRF token) and posts it as
 * application/x-www-form-urlencoded, as a browser submits a form.
 */
export interface FetchedPage {
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
  readonly url: string;
}

export class PageClient {
  readonly baseUrl: string;
  private readonly cookies = new Map<string, string>();

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  private remember(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(";");
      const index = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, index).trim(), pair!.slice(index + 1).trim());
    }
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ") };
  }

  async get(pathOrUrl: string): Promise<FetchedPage> {
    const url = new URL(pathOrUrl, this.baseUrl).toString();
    const response = await fetch(url, { headers: this.cookieHeader(), redirect: "manual" });
    this.remember(response.headers);
    return { status: response.status, headers: response.headers, html: await response.text(), url };
  }

  async post(path: string, fields: Record<string, string>): Promise<FetchedPage> {
    const url = new URL(path, this.baseUrl).toString();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...this.cookieHeader() },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
    this.remember(response.headers);
    return { status: response.status, headers: response.headers, html: await response.text(), url };
  }

  /** Submits the page's (first) form with its hidden fields plus `fields`, as a browser would. */
  async submit(page: FetchedPage, fields: Record<string, string>): Promise<FetchedPage> {
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/.exec(page.html);
    if (form === null) throw new Error(`no form on ${page.url}:\n${page.html}`);
    return this.post(decodeEntities(form[1]!), { ...hiddenFields(form[2]!), ...fields });
  }
}

/** The hidden inputs of a form's markup, by name. */
export function hiddenFields(markup: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of markup.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[decodeEntities(match[1]!)] = decodeEntities(match[2]!);
  }
  return fields;
}

export function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The text of an element by id (its inner markup, entities decoded, tags dropped). */
export function textOf(html: string, id: string): string | undefined {
  const match = new RegExp(`<[a-z0-9]+[^>]* id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return match === null ? undefined : decodeEntities(match[1]!.replace(/<[^>]+>/g, "")).trim();
}
