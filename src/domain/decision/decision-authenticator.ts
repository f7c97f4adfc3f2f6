import { DomainError } from "../errors.ts";
import type { Authenticator, Principal } from "../principal.ts";
import type { DecisionEngine } from "./decision-engine.ts";

/**
 * Gatehouse's own RPCs authenticate through the same engine as VerifyToken and
 * Envoy's Check: a bearer token is accepted exactly when they would accept it.
 */
export class DecisionAuthenticator implements Authenticator {
  private readonly engine: DecisionEngine;

  constructor(engine: DecisionEngine) {
    this.engine = engine;
  }

  async authenticate(bearerToken: string): Promise<Principal> {
    const decision = await this.engine.decide({ token: bearerToken });
    if (decision.outcome === "unauthenticated") {
      throw new DomainError("unauthenticated", decision.reason, decision.message);
    }
    const claims = decision.claims;
    return {
      kind: claims.kind,
      subjectId: claims.subjectId,
      sessionId: claims.sessionId,
      tokenId: claims.tokenId,
      expiresAt: claims.expiresAt * 1000,
      clientId: claims.clientId,
    };
  }
}
