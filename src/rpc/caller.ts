/** The authenticated caller of an administrative or self-service RPC (an alias of context.ts's actorOf). */
export { actorOf as callerOf } from "./context.ts";
