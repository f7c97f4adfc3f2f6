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

const SOURCE_KINDS = { group: "group", "realm-role": "realm_role" } as const;
const TARGET_KINDS = { role: "role", "business-role": "business_role" } as const;

/**
 * Parses `source=target,…` where a source is `group:/path` or
 * `realm-role:name` and a target is `role:name` or `business-role:name`, e.g.
 * `group:/billing/editors=business-role:billing-editor,realm-role:ops=role:admin`.
 * Returns the problems found (each naming the bad entry) instead of throwing,
 * so the configuration can report them all at once.
 */
export function parseRoleMapping(text: string): { mapping: RoleMapping; problems: string[] } {
  const rules: RoleMappingRule[] = [];
  const problems: string[] = [];
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of entries) {
    const [sourceText, targetText, ...rest] = entry.split("=");
    const source = parseSide(sourceText ?? "", SOURCE_KINDS);
    const target = parseSide(targetText ?? "", TARGET_KINDS);
    if (rest.length > 0 || source === undefined || target === undefined) {
      problems.push(
        `"${entry}" is not source=target with a source group:/path or realm-role:name and a target role:name or business-role:name`,
      );
      continue;
    }
    if (source.kind === "group" && !/^\/[^/]/.test(source.value)) {
      problems.push(`"${entry}": a group is named by its full path, starting with "/"`);
      continue;
    }
    rules.push({
      source:
        source.kind === "group"
          ? { kind: "group", path: source.value.replace(/\/+$/, "") }
          : { kind: "realm_role", name: source.value },
      target: { kind: target.kind, name: target.value },
    });
  }
  return { mapping: new RoleMapping(rules), problems };
}

function parseSide<K extends Record<string, string>>(
  text: string,
  kinds: K,
): { kind: K[keyof K]; value: string } | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  const name = text.slice(0, colon).trim();
  if (!Object.hasOwn(kinds, name)) return undefined;
  const kind = kinds[name as keyof K];
  const value = text.slice(colon + 1).trim();
  if (value === "" || /[\p{Cc}]/u.test(value)) return undefined;
  return { kind, value };
}
