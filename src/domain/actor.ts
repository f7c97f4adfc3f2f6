import type { Principal } from "./principal.ts";

/** Who made a request and from where; `principal` once the caller is authenticated (not at sign-in). */
export interface Requester {
  readonly principal?: Principal;
  readonly ip: string;
  readonly requestId: string;
}

/** An authenticated caller of an administrative or self-service call: for permission checks and the audit log. */
export interface Actor extends Requester {
  readonly principal: Principal;
}
