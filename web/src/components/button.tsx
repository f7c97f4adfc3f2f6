import type { ButtonHTMLAttributes } from "react";

export type ButtonVariant = "primary" | "secondary" | "danger" | "ghost";

/** The one button: a variant, and `busy` while its action runs (disabled, announced). */
export function Button(
  props: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: ButtonVariant; busy?: boolean },
) {
  const { variant = "secondary", busy = false, className, disabled, children, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      className={`button button-${variant}${className === undefined ? "" : ` ${className}`}`}
      disabled={disabled === true || busy}
      aria-busy={busy || undefined}
    >
      {children}
    </button>
  );
}
