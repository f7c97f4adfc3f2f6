import type { Command } from "./command.ts";

/**
 * A completion script for bash or zsh (zsh through bashcompinit), built from the command
 * table so it never lists a command that does not exist.
 */
export function completionScript(shell: string, commands: readonly Command[]): string | undefined {
  if (shell !== "bash" && shell !== "zsh") return undefined;
  const groups = new Map<string, Set<string>>();
  const flags = new Map<string, string[]>();
  for (const command of commands) {
    const [head, sub] = command.path;
    if (!groups.has(head!)) groups.set(head!, new Set());
    if (sub !== undefined) groups.get(head!)!.add(sub);
    flags.set(
      command.path.join(" "),
      Object.keys(command.flags ?? {}).map((f) => `--${f}`),
    );
  }
  const top = [...groups.keys(), "completion"].join(" ");
  const subCases = [...groups]
    .filter(([, subs]) => subs.size > 0)
    .map(([head, subs]) => `    ${head}) words="${[...subs].join(" ")}" ;;`)
    .join("\n");
  // A one-word command's flags follow it directly: "login --username" matches "login "*.
  const flagCases = [...flags]
    .map(([path, list]) => {
      const pattern = path.includes(" ") ? `"${path}"` : `"${path}"|"${path} "*`;
      return `    ${pattern}) echo "${[...list, "--json", "--server", "--help"].join(" ")}" ;;`;
    })
    .join("\n");
  const body = `# gatehouse completion (${shell}): eval "$(gatehouse completion ${shell})"
_gatehouse_flags() {
  case "$1" in
${flagCases}
    *) echo "--json --server --help" ;;
  esac
}
_gatehouse() {
  local cur words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${top}"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${subCases}
    completion) words="bash zsh" ;;
    *) words="$(_gatehouse_flags "\${COMP_WORDS[1]}")" ;;
    esac
  else
    words="$(_gatehouse_flags "\${COMP_WORDS[1]} \${COMP_WORDS[2]}")"
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
`;
  const zshPrelude = "autoload -U +X bashcompinit && bashcompinit\n";
  return `${shell === "zsh" ? zshPrelude : ""}${body}complete -F _gatehouse gatehouse\n`;
}
