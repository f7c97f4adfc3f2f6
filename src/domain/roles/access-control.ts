import { DomainError } from "../errors.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { Principal } from "../principal.ts";
import type { RoleRepository } from "./role-repository.ts";

/**
 * ADMIN_SECOND_FACTOR: what a session must have used to exercise an
 * administrative permission. "any": a second factor of any kind (RFC 8176
 * "otp", "mfa", or a passkey's "hwk"/"swk"); "passkey": a passkey.
 */
export type SecondFactorPolicy = "off" | "any" | "passkey";

const SECOND_FACTORS: Record<Exclude<SecondFactorPolicy, "off">, ReadonlySet<string>> = {
  any: new Set(["otp", "mfa", "hwk", "swk"]),
  passkey: new Set(["hwk", "swk"]),
};

export interface SecondFactorRule {
  readonly policy: SecondFactorPolicy;
  /** How the session signed in (its amr); undefined for an unknown session. */
  sessionMethods(sessionId: string): Promise<readonly string[] | undefined>;
}

/**
 * RBAC checks for administrative calls. Permissions are loaded from the
 * database on every check (one indexed query), so a role change takes effect
 * on the very next call, on every replica. Service accounts hold no RBAC
 * roles: their access is through service grants, not Gatehouse permissions.
 */
export class AccessControl implements PermissionGuard {
  private readonly roles: Pick<RoleRepository, "permissionsOfUser">;
  private readonly secondFactor: SecondFactorRule | undefined;

  constructor(roles: Pick<RoleRepository, "permissionsOfUser">, secondFactor?: SecondFactorRule) {
    this.roles = roles;
    this.secondFactor = secondFactor?.policy === "off" ? undefined : secondFactor;
  }

  async permissionsOf(principal: Principal): Promise<ReadonlySet<string>> {
    if (principal.kind !== "user") return new Set();
    return this.roles.permissionsOfUser(principal.subjectId);
  }

  async hasPermission(principal: Principal, permission: string): Promise<boolean> {
    return (await this.permissionsOf(principal)).has(permission);
  }

  /**
   * Throws permission_denied (reason "missing_permission") unless the
   * principal holds the permission, and ("second_factor_required") unless its
   * session used the second factor ADMIN_SECOND_FACTOR asks for. Every
   * administrative call comes here; the account's own calls (GetMe, enrolling
   * TOTP or a passkey) do not, so an administrator without one can enrol it.
   */
  async requirePermission(principal: Principal, permission: string): Promise<void> {
    if (!(await this.hasPermission(principal, permission))) {
      throw new DomainError(
        "permission_denied",
        "missing_permission",
        `this call needs the permission ${permission}`,
        {
          metadata: { permission },
        },
      );
    }
    await this.requireSecondFactor(principal);
  }

  private async requireSecondFactor(principal: Principal): Promise<void> {
    const rule = this.secondFactor;
    if (rule === undefined || rule.policy === "off" || principal.kind !== "user") return;
    const methods = principal.sessionId === "" ? undefined : await rule.sessionMethods(principal.sessionId);
    const accepted = SECOND_FACTORS[rule.policy];
    if (methods?.some((method) => accepted.has(method)) === true) return;
    throw new DomainError(
      "permission_denied",
      "second_factor_required",
      rule.policy === "passkey"
        ? "administration needs a session signed in with a passkey: add one on your account page, then sign in with it"
        : "administration needs a session signed in with a second factor (TOTP or a passkey): enrol one, then sign in again",
      { metadata: { required: rule.policy } },
    );
  }

  /**
   * No privilege escalation: granting permissions (in a role, or a role to a
   * user) needs holding each of them. Throws permission_denied "privilege_escalation".
   */
  async requireHoldsAll(principal: Principal, permissions: Iterable<string>): Promise<void> {
    const held = await this.permissionsOf(principal);
    const missing = [...new Set(permissions)].filter((permission) => !held.has(permission)).sort();
    if (missing.length > 0) {
      throw new DomainError(
        "permission_denied",
        "privilege_escalation",
        `only holders of a permission may grant it; missing: ${missing.join(", ")}`,
        { metadata: { permissions: missing.join(",") } },
      );
    }
  }
}
