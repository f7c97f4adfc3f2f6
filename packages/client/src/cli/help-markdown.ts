import { COMMANDS } from "./commands/index.ts";
import { commandHelp, mainHelp } from "./help.ts";

/** The README's CLI reference: `gatehouse --help`, then every command's help, as the CLI prints them. */
export function helpMarkdown(): string {
  const each = COMMANDS.map(
    (command) =>
      `#### \`gatehouse ${command.path.join(" ")}\`\n\n\`\`\`text\n${commandHelp(command)}\`\`\`\n`,
  ).join("\n");
  return `\`\`\`text\n$ gatehouse --help\n${mainHelp(COMMANDS)}\`\`\`\n\n<details><summary>Every command's help</summary>\n\n${each}\n</details>\n`;
}
