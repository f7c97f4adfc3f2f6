import type { ServiceImpl } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { RoleService } from "../../src/gen/gatehouse/v1/role_pb.js";
import type { Handlers } from "../../src/rpc/routes.ts";

// Type-checked by `tsc` in `npm test`: if Handlers ever accepted a service with a method left out
// (e.g. Partial<ServiceImpl<…>>), the @ts-expect-error below would itself become an error.
type RoleMethods = keyof ServiceImpl<typeof RoleService>;
const withoutOne = <K extends RoleMethods>(impl: ServiceImpl<typeof RoleService>, method: K) => {
  const { [method]: _left, ...rest } = impl;
  return rest;
};

describe("Handlers", () => {
  it("does not compile with a missing RPC", () => {
    const complete = {} as ServiceImpl<typeof RoleService>;
    const roles: Handlers["roles"] = complete;
    // @ts-expect-error deleteRole is missing: a service must implement every RPC of its proto.
    const incomplete: Handlers["roles"] = withoutOne(complete, "deleteRole");
    expect([roles, incomplete]).toHaveLength(2);
  });
});
