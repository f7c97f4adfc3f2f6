import type { HandlerContext } from "@connectrpc/connect";
import type { Caller } from "../domain/audit/audit-log.ts";
import { callInfo, requirePrincipal } from "./context.ts";

/** The authenticated caller of an administrative or self-service RPC, with what the audit log needs. */
export async function callerOf(context: HandlerContext): Promise<Caller> {
  const principal = await requirePrincipal(context);
  const info = callInfo(context);
  return { principal, ip: info.ip, requestId: info.requestId };
}
