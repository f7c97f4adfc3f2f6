import { type SelectHTMLAttributes, useId } from "react";

export interface SelectOption {
  readonly value: string;
  readonly label: string;
}

export function SelectField(
  props: Omit<SelectHTMLAttributes<HTMLSelectElement>, "onChange"> & {
    label: string;
    value: string;
    options: readonly SelectOption[];
    onChange: (value: string) => void;
    error?: string | undefined;
  },
) {
  const { label, options, onChange, error, className, ...select } = props;
  const id = useId();
  return (
    <div className={`field${error === undefined ? "" : " field-invalid"}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        {...select}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error === undefined ? undefined : true}
        aria-describedby={error === undefined ? undefined : `${id}-error`}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {error === undefined ? null : (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}
