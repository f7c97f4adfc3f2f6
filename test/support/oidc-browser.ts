import { ok, uniqueName } from "./identity.ts";

/**
 * A browser driven over plain HTTP for the hosted pages: a cookie jar,
 * redirects followed by hand (so tests see each hop), and forms read from the
 * HTML the server rendered (hidden fields included), as a browser would post them.
 */
export class HttpBrowser {
  readonly cookies = new Map<string, string>();
  /** The Set-Cookie headers seen, for the cookie-flag tests. */
  readonly setCookies: string[] = [];

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0)
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    let body: string | undefined;
    if (init.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, {
      method: init.method ?? (body ? "POST" : "GET"),
      headers,
      body,
      redirect: "manual",
    });
    for (const cookie of response.headers.getSetCookie()) {
      this.setCookies.push(cookie);
      const [pair] = cookie.split(";");
      const index = pair!.indexOf("=");
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (/max-age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    return {
      status: response.status,
      location: response.headers.get("location") ?? undefined,
      text,
      headers: response.headers,
      url,
    };
  }

  /** GETs `url` and follows redirects that stay on `origin`; stops at the first page or at a redirect leaving it. */
  async follow(url: string, origin: string, init: { form?: Record<string, string> } = {}) {
    let page = await this.request(url, init);
    for (let hops = 0; hops < 10 && page.location !== undefined; hops++) {
      const next = new URL(page.location, page.url).toString();
      if (!next.startsWith(origin)) return { ...page, location: next };
      page = await this.request(next);
    }
    return page;
  }

  /** Submits the page's form (the one posting to `action`) with `values` over its fields. */
  async submit(
    pageUrl: string,
    html: string,
    action: string,
    values: Record<string, string>,
    origin: string,
  ) {
    const form = formFields(html, action);
    return this.follow(new URL(action, pageUrl).toString(), origin, { form: { ...form, ...values } });
  }
}

/** The named inputs of the form posting to `action` (hidden ones with their values). */
export function formFields(html: string, action: string): Record<string, string> {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form posts to ${action} in:\n${html.slice(0, 2000)}`);
  const form = html.slice(start, html.indexOf("</form>", start));
  const fields: Record<string, string> = {};
  for (const match of form.matchAll(/<input [^>]*name="([^"]+)"[^>]*>/g)) {
    const value = /value="([^"]*)"/.exec(match[0])?.[1] ?? "";
    fields[match[1]!] = decodeEntities(value);
  }
  return fields;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, decimal: string) => String.fromCodePoint(Number(decimal)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** Registers an OIDC client through the admin API; returns its client id (and secret when confidential). */
export async function registerClient(
  url: string,
  adminToken: string,
  fields: Record<string, unknown> = {},
): Promise<{ clientId: string; clientSecret: string }> {
  const clientId = uniqueName("rp");
  const created = await ok(
    url,
    "gatehouse.v1.ServiceRegistryService/CreateOidcClient",
    {
      clientId,
      name: `App ${clientId}`,
      type: "OIDC_CLIENT_TYPE_PUBLIC",
      redirectUris: { uris: ["http://127.0.0.1:9/callback"] },
      postLogoutRedirectUris: { uris: ["http://127.0.0.1:9/signed-out"] },
      scopes: { scopes: ["openid", "profile", "email", "phone", "offline_access"] },
      firstParty: true,
      ...fields,
    },
    adminToken,
  );
  return { clientId: created.client.clientId, clientSecret: created.clientSecret ?? "" };
}
