import { type InputHTMLAttributes, useId } from "react";

/**
 * A labelled input with its hint and its error (the server's field violation, or a local check)
 * tied to it with aria-describedby, so screen readers read them with the field.
 */
export function TextField(
  props: Omit<InputHTMLAttributes<HTMLInputElement>, "onChange"> & {
    label: string;
    value: string;
    onChange: (value: string) => void;
    hint?: string | undefined;
    error?: string | undefined;
  },
) {
  const { label, hint, error, onChange, className, ...input } = props;
  const id = useId();
  const described = [hint === undefined ? "" : `${id}-hint`, error === undefined ? "" : `${id}-error`]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={`field${error === undefined ? "" : " field-invalid"}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        {...input}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error === undefined ? undefined : true}
        aria-describedby={described || undefined}
      />
      {hint === undefined ? null : (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error === undefined ? null : (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
