import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Actor } from "../domain/actor.ts";
import type { Principal } from "../domain/principal.ts";
import type { Logger } from "../observability/logger.ts";

/** Who is calling, as far as the transport can tell. */
export interface Peer {
  readonly ip: string;
  readonly userAgent: string;
  /** The SPIFFE id of the verified mTLS client certificate (the calling workload); undefined without one. */
  readonly spiffeId?: string | undefined;
}

/** The request's bearer credential, resolved to a principal on first use. */
export interface CallerCredential {
  readonly bearerToken: string | undefined;
  /** Verifies the bearer token (once per request); throws UNAUTHENTICATED without a valid one. */
  principal(): Promise<Principal>;
}

export const kRequestId = createContextKey<string>("", { description: "request id" });
export const kLogger = createContextKey<Logger | undefined>(undefined, { description: "request logger" });
export const kPeer = createContextKey<Peer>({ ip: "", userAgent: "" }, { description: "peer" });
export const kCaller = createContextKey<CallerCredential | undefined>(undefined, { description: "caller" });

/** Domain-facing facts about the call, derived from the handler context. */
export interface CallInfo {
  readonly requestId: string;
  readonly ip: string;
  readonly userAgent: string;
}

export function callInfo(context: HandlerContext): CallInfo {
  const peer = context.values.get(kPeer);
  return { requestId: context.values.get(kRequestId), ip: peer.ip, userAgent: peer.userAgent };
}

export async function requirePrincipal(context: HandlerContext): Promise<Principal> {
  const caller = context.values.get(kCaller);
  if (caller === undefined) throw new Error("authentication interceptor not installed");
  return caller.principal();
}

/** The authenticated caller of an administrative RPC, with what the audit log needs. */
export async function actorOf(context: HandlerContext): Promise<Actor> {
  const principal = await requirePrincipal(context);
  const info = callInfo(context);
  return { principal, ip: info.ip, requestId: info.requestId };
}
