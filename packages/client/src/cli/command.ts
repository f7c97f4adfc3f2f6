import type { Clients } from "./connection.ts";
import type { CredentialsCache } from "./credentials-cache.ts";

/** A flag of a command, as `node:util` parseArgs takes it, plus its help text. */
export interface Flag {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  readonly help: string;
  /** Shown in the usage line, e.g. `ROLE`. */
  readonly value?: string;
}

export interface Io {
  write(text: string): void;
  error(text: string): void;
  /** The whole of stdin (for secrets passed with --password-stdin). */
  readStdin(): Promise<string>;
}

export interface CommandContext {
  readonly server: string;
  readonly json: boolean;
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  readonly cache: CredentialsCache;
  readonly flags: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly args: readonly string[];
  /** Clients that send the cached credentials (refreshed as needed). */
  clients(): Clients;
  /** Clients without credentials (login). */
  anonymous(): Clients;
  /** Prints a value: as JSON with --json, else through `human`. */
  print(value: unknown, human: () => string): void;
}

export interface Command {
  /** The words that select it, e.g. ["users", "list"]. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Positional arguments in the usage line, e.g. "USER". */
  readonly args?: string;
  readonly flags?: Readonly<Record<string, Flag>>;
  /** Longer help, after the usage. */
  readonly details?: string;
  run(context: CommandContext): Promise<void>;
}
