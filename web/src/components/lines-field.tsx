import { useId } from "react";

/**
 * A list of strings edited as lines of a textarea (redirect URIs, hosts, a service's roles), with
 * its hint and error tied to it like TextField's.
 */
export function LinesField(props: {
  label: string;
  lines: readonly string[];
  onChange: (lines: string[]) => void;
  hint?: string | undefined;
  error?: string | undefined;
  rows?: number;
}) {
  const id = useId();
  const described = [
    props.hint === undefined ? "" : `${id}-hint`,
    props.error === undefined ? "" : `${id}-error`,
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div className={`field${props.error === undefined ? "" : " field-invalid"}`}>
      <label htmlFor={id}>{props.label}</label>
      <textarea
        id={id}
        rows={props.rows ?? 3}
        spellCheck={false}
        value={props.lines.join("\n")}
        onChange={(event) => props.onChange(event.target.value.split("\n"))}
        aria-invalid={props.error === undefined ? undefined : true}
        aria-describedby={described || undefined}
      />
      {props.hint === undefined ? null : (
        <p className="field-hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error === undefined ? null : (
        <p className="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** The lines a person meant: trimmed, blank ones dropped. */
export const nonBlankLines = (lines: readonly string[]): string[] =>
  lines.map((line) => line.trim()).filter((line) => line !== "");
