/**
 * What a user holds at the identity provider that Gatehouse maps to access:
 * Keycloak group paths (`/billing/editors`) and effective realm roles
 * (composites and those inherited from groups included).
 */
export interface RemoteAccess {
  readonly groups: readonly string[];
  readonly realmRoles: readonly string[];
}

export type RoleMappingSource =
  | { readonly kind: "group"; readonly path: string }
  | { readonly kind: "realm_role"; readonly name: string };

export type RoleMappingTarget =
  | { readonly kind: "role"; readonly name: string }
  | { readonly kind: "business_role"; readonly name: string };

export interface RoleMappingRule {
  readonly source: RoleMappingSource;
  readonly target: RoleMappingTarget;
}

/** The Gatehouse roles and business roles (by name) a user should hold of the mapped ones. */
export interface MappedAccess {
  readonly roles: ReadonlySet<string>;
  readonly businessRoles: ReadonlySet<string>;
}

/**
 * KEYCLOAK_ROLE_MAPPING, parsed. The targets named by some rule are managed
 * by Keycloak: a user holds one exactly when they hold a source mapped to it
 * (sign-in, events, full sync); every other role stays Gatehouse's own.
 */
export class RoleMapping {
  readonly rules: readonly RoleMappingRule[];
  /** Every RBAC role / business role some rule targets. */
  readonly managedRoles: ReadonlySet<string>;
  readonly managedBusinessRoles: ReadonlySet<string>;

  constructor(rules: readonly RoleMappingRule[]) {
    this.rules = rules;
    this.managedRoles = new Set(rules.filter((r) => r.target.kind === "role").map((r) => r.target.name));
    this.managedBusinessRoles = new Set(
      rules.filter((r) => r.target.kind === "business_role").map((r) => r.target.name),
    );
  }

  static readonly NONE = new RoleMapping([]);

  get isEmpty(): boolean {
    return this.rules.length === 0;
  }

  /** The managed targets a user holding `access` gets. A group rule also matches members of its subgroups. */
  apply(access: RemoteAccess): MappedAccess {
    const roles = new Set<string>();
    const businessRoles = new Set<string>();
    const realmRoles = new Set(access.realmRoles);
    for (const { source, target } of this.rules) {
      const held =
        source.kind === "realm_role"
          ? realmRoles.has(source.name)
          : access.groups.some((path) => path === source.path || path.startsWith(`${source.path}/`));
      if (!held) continue;
      (target.kind === "role" ? roles : businessRoles).add(target.name);
    }
    return { roles, businessRoles };
  }
}
