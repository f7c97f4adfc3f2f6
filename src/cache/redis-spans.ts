import type { Redis } from "ioredis";
import type { Tracing } from "../observability/tracing.ts";

/**
 * Makes each command this client sends a child span of the RPC it serves:
 * `redis <COMMAND>` with `db.system` and `db.operation.name`, never a key or
 * an argument (keys hold token ids and user ids). Commands outside an RPC
 * (the heartbeat, the change feed) make none. Installed only with tracing on.
 */
export function traceRedisCommands(client: Redis, tracing: Tracing): void {
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    const operation = command.name.toUpperCase();
    // The command is sent synchronously inside childSpan, so the order of commands is kept.
    return tracing.childSpan(
      `redis ${operation}`,
      { "db.system": "redis", "db.operation.name": operation },
      () => sendCommand(command, stream) as Promise<unknown>,
    );
  }) as Redis["sendCommand"];
}
