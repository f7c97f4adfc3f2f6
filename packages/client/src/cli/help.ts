import type { Command, Flag } from "./command.ts";

export const GLOBAL_FLAGS: Readonly<Record<string, Flag>> = {
  server: {
    type: "string",
    value: "URL",
    help: "Gatehouse's base URL (default $GATEHOUSE_URL, else http://127.0.0.1:8080)",
  },
  transport: { type: "string", value: "KIND", help: "connect (HTTP/1.1, the default) or grpc (HTTP/2)" },
  json: { type: "boolean", help: "print JSON (one document; audit tail prints one per line)" },
  help: { type: "boolean", short: "h", help: "show help" },
};

const EXIT_CODES =
  "Exit status: 0 ok, 1 other failure, 2 usage, 3 not signed in / unauthenticated,\n" +
  "4 permission denied, 5 not found, 6 invalid argument, 7 conflict (exists, precondition),\n" +
  "8 unavailable (server, deadline, rate limit).\n";

function flagLines(flags: Readonly<Record<string, Flag>>): string {
  const rows = Object.entries(flags).map(([name, flag]) => {
    const short = flag.short === undefined ? "    " : `-${flag.short}, `;
    const value = flag.type === "string" ? ` ${flag.value ?? "VALUE"}` : "";
    return [`  ${short}--${name}${value}`, flag.help + (flag.multiple ? " (repeatable)" : "")] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${left.padEnd(width)}  ${right}`).join("\n");
}

export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(" ").length));
  return (
    "Usage: gatehouse [--server URL] [--json] COMMAND [ARGS]\n\n" +
    "Administer Gatehouse from a terminal or a script. Commands:\n" +
    commands.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`).join("\n") +
    "\n  completion bash|zsh".padEnd(width + 3) +
    "  Print a shell completion script\n\nGlobal flags:\n" +
    flagLines(GLOBAL_FLAGS) +
    "\n\n" +
    EXIT_CODES +
    "Run `gatehouse COMMAND --help` for a command's flags.\n"
  );
}

export function commandHelp(command: Command): string {
  const usage = `Usage: gatehouse ${command.path.join(" ")}${command.args ? ` ${command.args}` : ""}${
    command.flags ? " [FLAGS]" : ""
  }\n\n${command.summary}\n`;
  return (
    usage +
    (command.details ? `\n${command.details}\n` : "") +
    (command.flags ? `\nFlags:\n${flagLines(command.flags)}\n` : "") +
    `\nGlobal flags:\n${flagLines(GLOBAL_FLAGS)}\n`
  );
}
