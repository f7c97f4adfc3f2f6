import { toJson } from "@bufbuild/protobuf";
import { BusinessRoleSchema, PermissionSchema, RoleSchema } from "../../gen/gatehouse/v1/role_pb.js";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../exit-codes.ts";
import { allPages, oneArgument, parseGrants } from "../lookup.ts";
import { table } from "../output.ts";

async function roleId(context: CommandContext, nameOrId: string): Promise<string> {
  const roles = await allPages(async (pageToken) => {
    const page = await context.clients().roles.listRoles({ pageSize: 500, pageToken });
    return { items: page.roles, nextPageToken: page.nextPageToken };
  });
  const role = roles.find((r) => r.id === nameOrId || r.name === nameOrId);
  if (role === undefined) throw new UsageError(`no role "${nameOrId}"`);
  return role.id;
}

async function businessRoleId(context: CommandContext, nameOrId: string): Promise<string> {
  const roles = await allPages(async (pageToken) => {
    const page = await context.clients().roles.listBusinessRoles({ pageSize: 500, pageToken });
    return { items: page.businessRoles, nextPageToken: page.nextPageToken };
  });
  const role = roles.find((r) => r.id === nameOrId || r.name === nameOrId);
  if (role === undefined) throw new UsageError(`no business role "${nameOrId}"`);
  return role.id;
}

export const accessCommands: readonly Command[] = [
  {
    path: ["roles", "list"],
    summary: "List RBAC roles and their permissions",
    async run(context) {
      const roles = await allPages(async (pageToken) => {
        const page = await context.clients().roles.listRoles({ pageSize: 500, pageToken });
        return { items: page.roles, nextPageToken: page.nextPageToken };
      });
      context.print(
        roles.map((r) => toJson(RoleSchema, r)),
        () =>
          table(
            ["NAME", "BUILT-IN", "PERMISSIONS"],
            roles.map((r) => [r.name, r.builtIn ? "yes" : "", r.permissions.join(" ")]),
          ),
      );
    },
  },
  {
    path: ["roles", "create"],
    summary: "Create an RBAC role",
    args: "NAME",
    flags: {
      permission: { type: "string", multiple: true, value: "PERM", help: "e.g. users.read (repeatable)" },
      description: { type: "string", value: "TEXT", help: "what the role is for" },
    },
    async run(context) {
      const { role } = await context.clients().roles.createRole({
        name: oneArgument(context, "role"),
        description: (context.flags.description as string | undefined) ?? "",
        permissions: { permissions: (context.flags.permission as string[] | undefined) ?? [] },
      });
      context.print(toJson(RoleSchema, role!), () => `Created role ${role!.name} (${role!.id})\n`);
    },
  },
  {
    path: ["roles", "delete"],
    summary: "Delete an RBAC role (by name or id)",
    args: "ROLE",
    async run(context) {
      const id = await roleId(context, oneArgument(context, "role"));
      await context.clients().roles.deleteRole({ roleId: id });
      context.print({ deleted: id }, () => `Deleted role ${id}\n`);
    },
  },
  {
    path: ["roles", "permissions"],
    summary: "The permission catalogue",
    async run(context) {
      const { permissions } = await context.clients().roles.listPermissions({});
      context.print(
        permissions.map((p) => toJson(PermissionSchema, p)),
        () =>
          table(
            ["PERMISSION", "DESCRIPTION"],
            permissions.map((p) => [p.name, p.description]),
          ),
      );
    },
  },
  {
    path: ["business-roles", "list"],
    summary: "List business roles and the grants each bundles",
    async run(context) {
      const roles = await allPages(async (pageToken) => {
        const page = await context.clients().roles.listBusinessRoles({ pageSize: 500, pageToken });
        return { items: page.businessRoles, nextPageToken: page.nextPageToken };
      });
      context.print(
        roles.map((r) => toJson(BusinessRoleSchema, r)),
        () =>
          table(
            ["ID", "NAME", "GRANTS"],
            roles.map((r) => [r.id, r.name, String(r.grants.length)]),
          ),
      );
    },
  },
  {
    path: ["business-roles", "create"],
    summary: "Create a business role bundling service grants",
    args: "NAME",
    flags: {
      grant: {
        type: "string",
        multiple: true,
        value: "SERVICE:ROLE",
        help: "a grant it bundles (repeatable)",
      },
      description: { type: "string", value: "TEXT", help: "what the role is for" },
    },
    async run(context) {
      const clients = context.clients();
      const { businessRole } = await clients.roles.createBusinessRole({
        name: oneArgument(context, "business role"),
        description: (context.flags.description as string | undefined) ?? "",
        grants: await parseGrants(clients, (context.flags.grant as string[] | undefined) ?? []),
      });
      context.print(
        toJson(BusinessRoleSchema, businessRole!),
        () => `Created business role ${businessRole!.name} (${businessRole!.id})\n`,
      );
    },
  },
  {
    path: ["business-roles", "delete"],
    summary: "Delete a business role (by name or id)",
    args: "BUSINESS_ROLE",
    async run(context) {
      const id = await businessRoleId(context, oneArgument(context, "business role"));
      await context.clients().roles.deleteBusinessRole({ businessRoleId: id });
      context.print({ deleted: id }, () => `Deleted business role ${id}\n`);
    },
  },
];
