/** What makes the hosted pages look like the product they sign into (BRANDING_* settings). */
export interface Branding {
  readonly productName: string;
  /** An http(s) URL or a same-origin path; undefined: the product name alone. */
  readonly logoUrl: string | undefined;
  /** #rrggbb. */
  readonly accentColor: string;
}

/** The colours derived from the accent so that any configured accent stays readable (WCAG AA, 4.5:1). */
export interface Palette {
  readonly accent: string;
  /** Text on an accent background: white or near-black, whichever contrasts more. */
  readonly onAccent: string;
  /** Links and focus rings on the white card: the accent if readable there, else a dark shade of it. */
  readonly accentText: string;
}

const channel = (hex: string, offset: number) => Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;

function luminance(hex: string): number {
  const linear = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return (
    0.2126 * linear(channel(hex, 1)) + 0.7152 * linear(channel(hex, 3)) + 0.0722 * linear(channel(hex, 5))
  );
}

export function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function darken(hex: string, factor: number): string {
  const part = (offset: number) =>
    Math.round(channel(hex, offset) * 255 * factor)
      .toString(16)
      .padStart(2, "0");
  return `#${part(1)}${part(3)}${part(5)}`;
}

const WHITE = "#ffffff";
const INK = "#111827";

export function paletteOf(accentColor: string): Palette {
  const accent = accentColor.toLowerCase();
  const onAccent = contrast(accent, WHITE) >= contrast(accent, INK) ? WHITE : INK;
  let accentText = accent;
  for (let factor = 0.9; contrast(accentText, WHITE) < 4.5 && factor > 0; factor -= 0.1) {
    accentText = darken(accent, factor);
  }
  return { accent, onAccent, accentText };
}
