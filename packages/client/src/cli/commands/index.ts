import type { Command } from "../command.ts";
import { accessCommands } from "./access.ts";
import { keyCommands } from "./keys.ts";
import { operationCommands } from "./operations.ts";
import { registryCommands } from "./registry.ts";
import { sessionCommands } from "./session.ts";
import { userCommands } from "./users.ts";

/** Every command, in the order `gatehouse --help` lists them. */
export const COMMANDS: readonly Command[] = [
  ...sessionCommands,
  ...userCommands,
  ...accessCommands,
  ...registryCommands,
  ...operationCommands,
  ...keyCommands,
];
