import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** A plain table: a header row and left-aligned columns, two spaces apart. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "(none)\n";
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** `key: value` lines, aligned. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return `${entries.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value}`).join("\n")}\n`;
}

export function time(value: Timestamp | undefined): string {
  if (value === undefined) return "-";
  return new Date(Number(value.seconds) * 1000 + Math.floor(value.nanos / 1e6)).toISOString();
}

/** The enum's name without its prefix, lower case: USER_STATUS_ACTIVE → active. */
export function enumName(names: Record<number, string>, value: number, prefix: string): string {
  const name = names[value] ?? String(value);
  return name.startsWith(prefix) ? name.slice(prefix.length).toLowerCase() : name.toLowerCase();
}
