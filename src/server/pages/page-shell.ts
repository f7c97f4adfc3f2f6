import { readFileSync } from "node:fs";
import type { HttpHandler, HttpRequest, HttpResponse } from "../http-handler.ts";
import { type Branding, paletteOf } from "./branding.ts";
import type { CsrfGuard } from "./csrf.ts";
import { type HashedAsset, hashedAsset } from "./hashed-asset.ts";
import { documentText, type Html, html } from "./html.ts";
import { type PagePolicy, setPageHeaders } from "./security-headers.ts";
import { buildStylesheet, type Stylesheet } from "./stylesheet.ts";

export interface PageContent {
  /** The <title> (the product name is appended) and, unless `heading` differs, the h1. */
  readonly title: string;
  readonly heading?: string;
  /** A sentence under the heading. */
  readonly lede?: string;
  /** What goes in the card under the heading. */
  readonly body: Html;
  /** Below the card (e.g. "Already have an account? Sign in"). */
  readonly after?: Html;
  readonly status?: number;
  readonly policy?: PagePolicy;
  /** Loads the passkey script (src/server/pages/passkey-ceremony.js): the CSP then allows it. */
  readonly passkeyScript?: boolean;
}

/**
 * Every hosted page goes through here: the one layout (brand, card, footer),
 * the strict headers, and the CSRF guard for its forms. Built once in the
 * composition root; the sign-up, password and verification pages and the
 * OpenID Provider's sign-in, MFA and consent pages all render with it.
 */
export class PageShell {
  readonly branding: Branding;
  readonly csrf: CsrfGuard;
  readonly stylesheet: Stylesheet;
  /** The one script a hosted page may load: the passkey forms' WebAuthn call. */
  readonly passkeyScript: HashedAsset;
  private readonly logoOrigins: readonly string[];

  constructor(branding: Branding, csrf: CsrfGuard) {
    this.branding = branding;
    this.csrf = csrf;
    this.stylesheet = buildStylesheet(paletteOf(branding.accentColor));
    this.passkeyScript = hashedAsset(
      "passkey",
      "js",
      "text/javascript; charset=utf-8",
      readFileSync(new URL("./passkey-ceremony.js", import.meta.url), "utf8"),
    );
    this.logoOrigins =
      branding.logoUrl !== undefined && /^https?:/i.test(branding.logoUrl) ? [branding.logoUrl] : [];
  }

  /** The plain routes the shell itself serves (its stylesheet and script). */
  routes(): Array<[string, HttpHandler]> {
    return [
      [this.stylesheet.path, this.stylesheet.handler],
      [this.passkeyScript.path, this.passkeyScript.handler],
    ];
  }

  /** Renders the page with the layout and headers and ends the response (HEAD: headers only). */
  send(request: HttpRequest, response: HttpResponse, content: PageContent): void {
    const text = documentText(this.layout(content));
    setPageHeaders(response, {
      ...content.policy,
      scripts: content.passkeyScript === true,
      imageOrigins: [...this.logoOrigins, ...(content.policy?.imageOrigins ?? [])],
    });
    response.statusCode = content.status ?? 200;
    response.setHeader("content-length", String(Buffer.byteLength(text)));
    if (request.method === "HEAD") response.end();
    else response.end(text);
  }

  /** 303 See Other (after a POST, the browser GETs the target): only our own paths. */
  redirect(response: HttpResponse, path: string): void {
    if (!path.startsWith("/") || path.startsWith("//")) throw new Error("redirects stay on our origin");
    response.statusCode = 303;
    response.setHeader("location", path);
    response.setHeader("cache-control", "no-store");
    response.end();
  }

  methodNotAllowed(response: HttpResponse, allow: readonly string[]): void {
    response.statusCode = 405;
    response.setHeader("allow", allow.join(", "));
    response.setHeader("cache-control", "no-store");
    response.end();
  }

  private layout(content: PageContent): Html {
    const { productName, logoUrl } = this.branding;
    const mark =
      logoUrl === undefined
        ? html`<span class="brand-mark" aria-hidden="true">${[...productName][0]?.toUpperCase() ?? ""}</span>`
        : html`<img src="${logoUrl}" alt="">`;
    return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${content.title} — ${productName}</title>
<link rel="stylesheet" href="${this.stylesheet.path}">
${content.passkeyScript === true ? html`<script src="${this.passkeyScript.path}" defer></script>` : ""}
</head>
<body>
<header><div class="brand">${mark}<span>${productName}</span></div></header>
<main>
<div class="card">
<h1>${content.heading ?? content.title}</h1>
${content.lede === undefined ? "" : html`<p class="lede">${content.lede}</p>`}
${content.body}
${content.after === undefined ? "" : html`<div class="alt">${content.after}</div>`}
</div>
</main>
</body>
</html>`;
  }
}
