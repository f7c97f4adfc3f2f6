import { DomainError } from "./errors.ts";
import type { Authenticator, Principal } from "./principal.ts";
import type { RevocationStore } from "./revocation/revocation-store.ts";
import type { AccessTokenVerifier } from "./tokens/access-token.ts";

/**
 * Bearer token → principal for Gatehouse's own RPCs: a valid signature and
 * claims, and not revoked. (Account status is enforced through revocation:
 * disabling a subject revokes its tokens.)
 */
export class TokenAuthenticator implements Authenticator {
  private readonly verifier: AccessTokenVerifier;
  private readonly revocations: RevocationStore;

  constructor(verifier: AccessTokenVerifier, revocations: RevocationStore) {
    this.verifier = verifier;
    this.revocations = revocations;
  }

  async authenticate(bearerToken: string): Promise<Principal> {
    const claims = await this.verifier.verifyAccessToken(bearerToken);
    const revoked = await this.revocations.revocationReason(claims);
    if (revoked !== undefined) throw new DomainError("unauthenticated", revoked, "the access token has been revoked");
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
