import type { Principal } from "../principal.ts";

/**
 * RBAC as the services that only check permissions see it (AccessControl
 * implements it): throws permission_denied "missing_permission" unless the
 * principal holds the permission.
 */
export interface PermissionGuard {
  requirePermission(principal: Principal, permission: string): Promise<void>;
}
