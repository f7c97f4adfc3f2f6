import { describe, expect, it } from "vitest";
import { parseRoleMapping } from "./role-mapping.ts";

describe("parseRoleMapping", () => {
  it("reads groups and realm roles mapped to roles and business roles", () => {
    const { mapping, problems } = parseRoleMapping(
      " group:/billing/editors/ = business-role:billing-editor ,realm-role:ops=role:admin,,",
    );
    expect(problems).toEqual([]);
    expect(mapping.rules).toEqual([
      {
        source: { kind: "group", path: "/billing/editors" },
        target: { kind: "business_role", name: "billing-editor" },
      },
      { source: { kind: "realm_role", name: "ops" }, target: { kind: "role", name: "admin" } },
    ]);
    expect([...mapping.managedRoles]).toEqual(["admin"]);
    expect([...mapping.managedBusinessRoles]).toEqual(["billing-editor"]);
    expect(parseRoleMapping("").mapping.isEmpty).toBe(true);
  });

  it("names every bad entry", () => {
    const { problems } = parseRoleMapping(
      "group:billing=role:a,team:/x=role:a,group:/x=user:a,group:/x,group:/x=role:a=role:b,toString:x=role:a,realm-role:=role:a",
    );
    expect(problems).toHaveLength(7);
    expect(problems[0]).toContain('"group:billing=role:a"');
  });

  it("matches a group's subgroups, not its namesakes", () => {
    const { mapping } = parseRoleMapping("group:/billing=role:billing,realm-role:ops=business-role:ops");
    expect(mapping.apply({ groups: ["/billing/eu"], realmRoles: [] }).roles.has("billing")).toBe(true);
    expect(mapping.apply({ groups: ["/billing-old"], realmRoles: [] }).roles.size).toBe(0);
    expect([...mapping.apply({ groups: [], realmRoles: ["ops"] }).businessRoles]).toEqual(["ops"]);
  });
});
