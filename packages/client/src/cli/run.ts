import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import type { Command, CommandContext, Flag, Io } from "./command.ts";
import { COMMANDS } from "./commands/index.ts";
import { completionScript } from "./completion.ts";
import { anonymousClients, signedInClients } from "./connection.ts";
import { CredentialsCache, configDirectory } from "./credentials-cache.ts";
import { ExitCode, exitCodeOf, unwrapLocal } from "./exit-codes.ts";
import { commandHelp, GLOBAL_FLAGS, mainHelp } from "./help.ts";

const DEFAULT_SERVER = "http://127.0.0.1:8080";

function parseOptions(flags: Readonly<Record<string, Flag>>) {
  return Object.fromEntries(
    Object.entries(flags).map(([name, flag]) => [
      name,
      {
        type: flag.type,
        ...(flag.multiple ? { multiple: true } : {}),
        ...(flag.short ? { short: flag.short } : {}),
      },
    ]),
  );
}

function findCommand(words: readonly string[]): Command | undefined {
  return (
    COMMANDS.find((c) => c.path.length === 2 && c.path[0] === words[0] && c.path[1] === words[1]) ??
    COMMANDS.find((c) => c.path.length === 1 && c.path[0] === words[0])
  );
}

/** The server's code, reason and message, and each field violation on its own line. */
export function describe(error: unknown): string {
  error = unwrapLocal(error);
  if (!(error instanceof ConnectError)) return error instanceof Error ? error.message : String(error);
  const reason = error.findDetails(ErrorInfoSchema)[0]?.reason;
  const head = `${Code[error.code]}${reason ? ` (${reason})` : ""}: ${error.rawMessage}`;
  const violations = error
    .findDetails(BadRequestSchema)
    .flatMap((bad) => bad.fieldViolations.map((v) => `  ${v.field}: ${v.description}`));
  return [head, ...violations].join("\n");
}

/**
 * The words naming the command: the leading non-flag words, skipping global flags (and the
 * values of those that take one) wherever they stand before them.
 */
function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const word = argv[i]!;
    if (!word.startsWith("-")) {
      words.push(word);
      continue;
    }
    const name = word.replace(/^--?/, "");
    const global = GLOBAL_FLAGS[name];
    if (global === undefined) break;
    if (global.type === "string" && !word.includes("=")) i++;
  }
  return words;
}

/**
 * Runs one `gatehouse …` invocation and returns its exit status. `main.ts` binds it to the
 * process; tests may call it with their own io and environment.
 */
export async function runCli(argv: readonly string[], io: Io, env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const positionals = commandWords(argv);
  if (positionals[0] === "completion") {
    const script = completionScript(positionals[1] ?? "", COMMANDS);
    if (script === undefined) {
      io.error("usage: gatehouse completion bash|zsh\n");
      return ExitCode.usage;
    }
    io.write(script);
    return ExitCode.ok;
  }
  const command = findCommand(positionals);
  if (command === undefined) {
    const wantsHelp = argv.length === 0 || argv.includes("--help") || argv.includes("-h");
    if (wantsHelp && positionals.length === 0) {
      io.write(mainHelp(COMMANDS));
      return ExitCode.ok;
    }
    io.error(`gatehouse: unknown command "${positionals.join(" ")}"\n\n${mainHelp(COMMANDS)}`);
    return ExitCode.usage;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseOptions({ ...GLOBAL_FLAGS, ...command.flags }),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.error(`gatehouse: ${(error as Error).message}\n\n${commandHelp(command)}`);
    return ExitCode.usage;
  }
  const flags = parsed.values as CommandContext["flags"];
  if (flags.help === true) {
    io.write(commandHelp(command));
    return ExitCode.ok;
  }
  const transport = (flags.transport as string | undefined) ?? "connect";
  if (transport !== "connect" && transport !== "grpc") {
    io.error("gatehouse: --transport is connect or grpc\n");
    return ExitCode.usage;
  }
  const server = ((flags.server as string | undefined) ?? env.GATEHOUSE_URL ?? DEFAULT_SERVER).replace(
    /\/+$/,
    "",
  );
  const cache = new CredentialsCache(configDirectory(env));
  const connection = { server, transport, cache } as const;
  const json = flags.json === true;
  const context: CommandContext = {
    server,
    json,
    io,
    env,
    cache,
    flags,
    args: parsed.positionals.slice(command.path.length),
    clients: () => signedInClients(connection),
    anonymous: () => anonymousClients(connection),
    print(value, human) {
      io.write(json ? `${JSON.stringify(value, null, 2)}\n` : human());
    },
  };
  try {
    await command.run(context);
    return ExitCode.ok;
  } catch (error) {
    const status = exitCodeOf(error);
    if (json) io.error(`${JSON.stringify({ error: describe(error), exitCode: status })}\n`);
    else
      io.error(
        `gatehouse: ${describe(error)}\n${status === ExitCode.usage ? `\n${commandHelp(command)}` : ""}`,
      );
    return status;
  }
}
