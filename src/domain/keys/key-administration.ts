import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { DomainError } from "../errors.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { RotatedSigningKey, SigningKeyRotation } from "../ports/signing-key-rotation.ts";

/**
 * Operator actions on the issuer's keys (permission keys.manage). Rotation is
 * the safe kind: the successor is published at once and signs only once every
 * verifier caching the JWKS has seen it; the old key keeps verifying what it
 * signed, so no session or token breaks.
 */
export class KeyAdministration {
  private readonly deps: {
    readonly rotation: SigningKeyRotation | undefined;
    readonly access: PermissionGuard;
    readonly audit: AuditLog;
  };

  constructor(deps: KeyAdministration["deps"]) {
    this.deps = deps;
  }

  rotateSigningKeys(caller: Actor): Promise<readonly RotatedSigningKey[]> {
    return this.deps.audit.track({ action: "keys.rotate_signing_keys", actor: caller }, async (note) => {
      await this.deps.access.requirePermission(caller.principal, "keys.manage");
      const rotation = this.deps.rotation;
      if (rotation === undefined) {
        throw new DomainError(
          "failed_precondition",
          "signing_keys_managed_by_provider",
          "the identity provider (Keycloak) signs the tokens: rotate its realm keys there",
        );
      }
      const rotated = await rotation.rotate();
      for (const key of rotated) note.detail(`kid_${key.algorithm}`, key.kid);
      return rotated;
    });
  }
}
