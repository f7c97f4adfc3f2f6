import type { ButtonHTMLAttributes } from "react";
import { Button } from "./button.tsx";

/**
 * An action in a table row ("Edit", "Delete"…): a quiet button whose accessible name says what it
 * acts on ("Edit support"), since a screen reader hears many rows' "Edit" otherwise.
 */
export function RowAction(
  props: Omit<ButtonHTMLAttributes<HTMLButtonElement>, "children"> & { action: string; subject: string },
) {
  const { action, subject, ...rest } = props;
  return (
    <Button variant="ghost" aria-label={`${action} ${subject}`} {...rest}>
      {action}
    </Button>
  );
}
