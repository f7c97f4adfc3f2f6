import { describe, expect, it } from "vitest";
import { escapeHtml, Html, html, joinHtml } from "./html.ts";

describe("the html template", () => {
  const attack = `"><script>alert(1)</script><a href='x' onmouseover=\`y\``;

  it("escapes every interpolated string, in text and in quoted attributes", () => {
    const page = html`<p title="${attack}">${attack}</p>`.toString();
    expect(page).not.toContain("<script>");
    expect(page).not.toMatch(/title="[^"]*"[^>]*onmouseover/);
    expect(page).toBe(
      `<p title="${escapeHtml(attack)}">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href&#61;&#39;x&#39; onmouseover&#61;&#96;y&#96;</p>`,
    );
  });

  it("keeps nested html as markup, and escapes the strings inside it", () => {
    const inner = html`<b>${"<i>"}</b>`;
    expect(html`<p>${inner}</p>`.toString()).toBe("<p><b>&lt;i&gt;</b></p>");
  });

  it("escapes arrays item by item, and renders nothing for absent values and booleans", () => {
    expect(html`${["<a>", html`<br>`, 3]}`.toString()).toBe("&lt;a&gt;<br>3");
    expect(html`[${undefined}${null}${false}${true}]`.toString()).toBe("[]");
    expect(joinHtml(["<x>", html`<y>`], ", ").toString()).toBe("&lt;x&gt;, <y>");
  });

  it("cannot be forged: a string or a look-alike object is escaped, Html cannot be built from outside", () => {
    const lookAlike = { toString: () => "<script>" } as unknown as string;
    expect(html`${lookAlike}`.toString()).toBe("&lt;script&gt;");
    expect(() => new Html(Symbol("html"), "<script>")).toThrow(TypeError);
  });
});
