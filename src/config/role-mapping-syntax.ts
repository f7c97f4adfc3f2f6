/**
 * The syntax of KEYCLOAK_ROLE_MAPPING. The config layer only parses; the
 * domain's RoleMapping (src/domain/sync/role-mapping.ts) applies the rules,
 * which have this same shape.
 */
export interface RoleMappingRuleConfig {
  readonly source:
    | { readonly kind: "group"; readonly path: string }
    | { readonly kind: "realm_role"; readonly name: string };
  readonly target: { readonly kind: "role" | "business_role"; readonly name: string };
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
export function parseRoleMapping(text: string): { rules: RoleMappingRuleConfig[]; problems: string[] } {
  const rules: RoleMappingRuleConfig[] = [];
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
  return { rules, problems };
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
