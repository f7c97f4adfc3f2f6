import type { Palette } from "./branding.ts";
import { type HashedAsset, hashedAsset } from "./hashed-asset.ts";

/**
 * The pages' one stylesheet, built once at start-up with the configured accent
 * and served from our own origin under a content hash: the CSP needs only
 * `style-src 'self'` (no inline styles, no nonces), and browsers may cache it
 * for a year because a new accent is a new path.
 */
export type Stylesheet = HashedAsset;

export function buildStylesheet(palette: Palette): Stylesheet {
  return hashedAsset("pages", "css", "text/css; charset=utf-8", stylesheetText(palette));
}

function stylesheetText(palette: Palette): string {
  return `:root {
  --accent: ${palette.accent};
  --on-accent: ${palette.onAccent};
  --accent-text: ${palette.accentText};
  --ink: #111827;
  --muted: #4b5563;
  --line: #6b7280;
  --soft-line: #e5e7eb;
  --page: #f3f4f6;
  --card: #ffffff;
  --danger: #b91c1c;
  --danger-soft: #fef2f2;
  --ok: #166534;
  --ok-soft: #f0fdf4;
  color-scheme: light;
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0;
  min-height: 100vh;
  background: var(--page);
  color: var(--ink);
  font: 1rem/1.5 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  display: flex;
  flex-direction: column;
  align-items: center;
  padding: 3rem 1rem 2rem;
}
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--card); padding: .5rem .75rem; border-radius: .375rem; z-index: 1; }
.brand { display: flex; align-items: center; gap: .625rem; margin: 0 0 1.5rem; font-weight: 650; font-size: 1.125rem; letter-spacing: -.01em; color: var(--ink); text-decoration: none; }
.brand img { height: 2rem; width: auto; max-width: 10rem; }
.brand-mark { display: inline-grid; place-items: center; width: 2rem; height: 2rem; border-radius: .5rem; background: var(--accent); color: var(--on-accent); font-size: 1rem; }
main { width: 100%; max-width: 27rem; }
.card {
  background: var(--card);
  border: 1px solid var(--soft-line);
  border-radius: .875rem;
  box-shadow: 0 1px 2px rgb(17 24 39 / 6%), 0 8px 24px rgb(17 24 39 / 6%);
  padding: 2rem;
}
h1 { font-size: 1.5rem; line-height: 1.25; letter-spacing: -.015em; margin: 0 0 .5rem; }
.lede { color: var(--muted); margin: 0 0 1.5rem; }
p { margin: 0 0 1rem; }
a { color: var(--accent-text); text-underline-offset: .15em; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--accent-text); outline-offset: 2px; }
form { margin: 0; }
.field { margin: 0 0 1.125rem; }
.field label { display: block; font-weight: 600; font-size: .9375rem; margin: 0 0 .375rem; }
.optional { font-weight: 400; color: var(--muted); }
.hint { display: block; color: var(--muted); font-size: .875rem; margin: 0 0 .375rem; }
.field input {
  display: block;
  width: 100%;
  font: inherit;
  color: inherit;
  background: var(--card);
  border: 1px solid var(--line);
  border-radius: .5rem;
  padding: .625rem .75rem;
  min-height: 2.75rem;
}
.field input:focus-visible { outline: 3px solid var(--accent-text); outline-offset: 1px; border-color: var(--accent-text); }
.field input[aria-invalid="true"] { border-color: var(--danger); border-width: 2px; }
.error { display: block; color: var(--danger); font-size: .875rem; font-weight: 600; margin: .375rem 0 0; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 0 .875rem; }
button, .button {
  display: inline-flex;
  justify-content: center;
  align-items: center;
  width: 100%;
  min-height: 2.75rem;
  margin: .5rem 0 0;
  padding: .625rem 1rem;
  font: inherit;
  font-weight: 650;
  color: var(--on-accent);
  background: var(--accent);
  border: 1px solid transparent;
  border-radius: .5rem;
  cursor: pointer;
  text-decoration: none;
}
button:hover, .button:hover { filter: brightness(.94); }
.summary {
  border: 1px solid var(--danger);
  border-left-width: .3125rem;
  background: var(--danger-soft);
  border-radius: .5rem;
  padding: .875rem 1rem;
  margin: 0 0 1.5rem;
}
.summary h2 { font-size: 1rem; margin: 0 0 .25rem; color: var(--danger); }
.summary ul { margin: 0; padding-left: 1.125rem; }
.summary a { color: var(--danger); font-weight: 600; }
.notice {
  border: 1px solid var(--ok);
  border-left-width: .3125rem;
  background: var(--ok-soft);
  border-radius: .5rem;
  padding: .875rem 1rem;
  margin: 0 0 1.5rem;
}
.notice.failure { border-color: var(--danger); background: var(--danger-soft); }
.notice h2 { font-size: 1rem; margin: 0 0 .25rem; }
.alt { margin: 1.5rem 0 0; padding: 1.25rem 0 0; border-top: 1px solid var(--soft-line); color: var(--muted); text-align: center; font-size: .9375rem; }
.alt p { margin: 0 0 .375rem; }
.passkey { margin: 1.25rem 0 0; padding: 1.25rem 0 0; border-top: 1px solid var(--soft-line); }
.passkey[hidden] { display: none; }
.passkey .or { margin: 0 0 .5rem; color: var(--muted); text-align: center; font-size: .9375rem; }
.passkey button { color: var(--accent-text); background: var(--card); border-color: var(--accent-text); }
.passkey button:disabled { cursor: progress; filter: opacity(.7); }
.passkey .error:empty { display: none; }
footer { margin-top: 1.5rem; color: var(--muted); font-size: .8125rem; text-align: center; }
@media (max-width: 30rem) {
  body { padding: 1.5rem .75rem; }
  .card { padding: 1.5rem 1.25rem; border-radius: .75rem; }
  .row { grid-template-columns: 1fr; }
}
`;
}
