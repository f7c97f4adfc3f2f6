import { describe, expect, it } from "vitest";
import { RoleMapping } from "./role-mapping.ts";

describe("RoleMapping", () => {
  const mapping = new RoleMapping([
    { source: { kind: "group", path: "/billing" }, target: { kind: "role", name: "billing" } },
    { source: { kind: "realm_role", name: "ops" }, target: { kind: "business_role", name: "ops" } },
  ]);

  it("knows the targets it manages", () => {
    expect([...mapping.managedRoles]).toEqual(["billing"]);
    expect([...mapping.managedBusinessRoles]).toEqual(["ops"]);
    expect(new RoleMapping([]).isEmpty).toBe(true);
  });

  it("matches a group's subgroups, not its namesakes, and realm roles by name", () => {
    expect(mapping.apply({ groups: ["/billing/eu"], realmRoles: [] }).roles.has("billing")).toBe(true);
    expect(mapping.apply({ groups: ["/billing-old"], realmRoles: [] }).roles.size).toBe(0);
    expect([...mapping.apply({ groups: [], realmRoles: ["ops"] }).businessRoles]).toEqual(["ops"]);
  });
});
