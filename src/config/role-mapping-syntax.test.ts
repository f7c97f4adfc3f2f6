import { describe, expect, it } from "vitest";
import { parseRoleMapping } from "./role-mapping-syntax.ts";

describe("parseRoleMapping", () => {
  it("reads groups and realm roles mapped to roles and business roles", () => {
    const { rules, problems } = parseRoleMapping(
      " group:/billing/editors/ = business-role:billing-editor ,realm-role:ops=role:admin,,",
    );
    expect(problems).toEqual([]);
    expect(rules).toEqual([
      {
        source: { kind: "group", path: "/billing/editors" },
        target: { kind: "business_role", name: "billing-editor" },
      },
      { source: { kind: "realm_role", name: "ops" }, target: { kind: "role", name: "admin" } },
    ]);
    expect(parseRoleMapping("")).toEqual({ rules: [], problems: [] });
  });

  it("names every bad entry", () => {
    const { problems } = parseRoleMapping(
      "group:billing=role:a,team:/x=role:a,group:/x=user:a,group:/x,group:/x=role:a=role:b,toString:x=role:a,realm-role:=role:a",
    );
    expect(problems).toHaveLength(7);
    expect(problems[0]).toContain('"group:billing=role:a"');
  });
});
