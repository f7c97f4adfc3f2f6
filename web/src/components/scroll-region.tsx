import type { ReactNode } from "react";

/**
 * A table that may scroll sideways on a phone: a labelled region that keyboard users can focus to
 * scroll it (WCAG 2.1.1; axe's scrollable-region-focusable).
 */
export function ScrollRegion(props: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section className="table-wrap" aria-label={props.label} tabIndex={0}>
      {props.children}
    </section>
  );
}
