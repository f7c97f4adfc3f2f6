import { toJson } from "@bufbuild/protobuf";
import {
  ServiceAccountSchema,
  ServiceSchema,
  ServiceStatus,
} from "../../gen/gatehouse/v1/service_registry_pb.js";
import type { Command, CommandContext } from "../command.ts";
import { UsageError } from "../exit-codes.ts";
import { allPages, oneArgument, parseGrants, serviceKey } from "../lookup.ts";
import { enumName, fields, table } from "../output.ts";

async function serviceId(context: CommandContext, slugOrId: string): Promise<string> {
  return (await context.clients().services.getService({ key: serviceKey(slugOrId) })).service!.id;
}

async function serviceAccountId(context: CommandContext, nameOrId: string): Promise<string> {
  const accounts = await allPages(async (pageToken) => {
    const page = await context.clients().services.listServiceAccounts({ pageSize: 500, pageToken });
    return { items: page.serviceAccounts, nextPageToken: page.nextPageToken };
  });
  const account = accounts.find((a) => a.id === nameOrId || a.name === nameOrId);
  if (account === undefined) throw new UsageError(`no service account "${nameOrId}"`);
  return account.id;
}

/** A secret is shown once: on its own line, so `| tail -1` or --json picks it up. */
const secretNotice = (clientId: string, secret: string) =>
  `client id:     ${clientId}\nclient secret: ${secret}\n(shown once: store it now)\n`;

export const registryCommands: readonly Command[] = [
  {
    path: ["services", "list"],
    summary: "List registered API services",
    async run(context) {
      const services = await allPages(async (pageToken) => {
        const page = await context.clients().services.listServices({ pageSize: 500, pageToken });
        return { items: page.services, nextPageToken: page.nextPageToken };
      });
      context.print(
        services.map((s) => toJson(ServiceSchema, s)),
        () =>
          table(
            ["SLUG", "NAME", "STATUS", "AUDIENCE", "ROLES"],
            services.map((s) => [
              s.slug,
              s.displayName,
              enumName(ServiceStatus, s.status, "SERVICE_STATUS_"),
              s.audience,
              s.roles.join(","),
            ]),
          ),
      );
    },
  },
  {
    path: ["services", "get"],
    summary: "Show one service (by slug or id)",
    args: "SERVICE",
    async run(context) {
      const { service } = await context
        .clients()
        .services.getService({ key: serviceKey(oneArgument(context, "service")) });
      context.print(toJson(ServiceSchema, service!), () =>
        fields([
          ["id", service!.id],
          ["slug", service!.slug],
          ["name", service!.displayName],
          ["status", enumName(ServiceStatus, service!.status, "SERVICE_STATUS_")],
          ["audience", service!.audience || "-"],
          ["roles", service!.roles.join(" ")],
          ["hosts", service!.hosts.join(" ") || "-"],
        ]),
      );
    },
  },
  {
    path: ["services", "create"],
    summary: "Register an API service",
    args: "SLUG",
    flags: {
      name: { type: "string", value: "TEXT", help: "display name (default: the slug)" },
      description: { type: "string", value: "TEXT", help: "what it is" },
      audience: { type: "string", value: "AUD", help: "the `aud` its tokens carry" },
      role: {
        type: "string",
        multiple: true,
        value: "ROLE",
        help: "a role it defines, least first (repeatable)",
      },
      host: { type: "string", multiple: true, value: "HOST", help: "a host Envoy routes to it (repeatable)" },
    },
    async run(context) {
      const slug = oneArgument(context, "service slug");
      const roles = context.flags.role as string[] | undefined;
      const hosts = context.flags.host as string[] | undefined;
      const { service } = await context.clients().services.createService({
        slug,
        displayName: (context.flags.name as string | undefined) ?? slug,
        description: (context.flags.description as string | undefined) ?? "",
        audience: (context.flags.audience as string | undefined) ?? "",
        ...(roles === undefined ? {} : { roles: { roles } }),
        ...(hosts === undefined ? {} : { hosts: { hosts } }),
      });
      context.print(
        toJson(ServiceSchema, service!),
        () => `Created service ${service!.slug} (${service!.id})\n`,
      );
    },
  },
  {
    path: ["services", "delete"],
    summary: "Remove a service and every grant on it",
    args: "SERVICE",
    async run(context) {
      const id = await serviceId(context, oneArgument(context, "service"));
      await context.clients().services.deleteService({ serviceId: id });
      context.print({ deleted: id }, () => `Deleted service ${id}\n`);
    },
  },
  {
    path: ["service-accounts", "list"],
    summary: "List service accounts",
    async run(context) {
      const accounts = await allPages(async (pageToken) => {
        const page = await context.clients().services.listServiceAccounts({ pageSize: 500, pageToken });
        return { items: page.serviceAccounts, nextPageToken: page.nextPageToken };
      });
      context.print(
        accounts.map((a) => toJson(ServiceAccountSchema, a)),
        () =>
          table(
            ["ID", "CLIENT ID", "DISABLED", "GRANTS"],
            accounts.map((a) => [a.id, a.clientId, a.disabled ? "yes" : "", String(a.grants.length)]),
          ),
      );
    },
  },
  {
    path: ["service-accounts", "create"],
    summary: "Create a service account (its secret is shown once)",
    args: "NAME",
    flags: {
      description: { type: "string", value: "TEXT", help: "who runs it" },
      grant: { type: "string", multiple: true, value: "SERVICE:ROLE", help: "a grant it holds (repeatable)" },
    },
    async run(context) {
      const clients = context.clients();
      const answer = await clients.services.createServiceAccount({
        name: oneArgument(context, "service account name"),
        description: (context.flags.description as string | undefined) ?? "",
        grants: await parseGrants(clients, (context.flags.grant as string[] | undefined) ?? []),
      });
      const account = answer.serviceAccount!;
      context.print(
        { serviceAccount: toJson(ServiceAccountSchema, account), clientSecret: answer.clientSecret },
        () => secretNotice(account.clientId, answer.clientSecret),
      );
    },
  },
  {
    path: ["service-accounts", "rotate-secret"],
    summary: "Issue a new secret (the old one stops working, and so do its tokens unless --keep-tokens)",
    args: "SERVICE_ACCOUNT",
    flags: {
      "keep-tokens": { type: "boolean", help: "let tokens issued under the old secret expire on their own" },
    },
    async run(context) {
      const id = await serviceAccountId(context, oneArgument(context, "service account"));
      const { clientSecret } = await context.clients().services.rotateServiceAccountSecret({
        serviceAccountId: id,
        keepIssuedTokens: context.flags["keep-tokens"] === true,
      });
      context.print({ serviceAccountId: id, clientSecret }, () => secretNotice(id, clientSecret));
    },
  },
  {
    path: ["service-accounts", "set-grants"],
    summary: "Replace a service account's grants",
    args: "SERVICE_ACCOUNT [SERVICE:ROLE...]",
    async run(context) {
      if (context.args.length < 1) throw new UsageError("name the service account, then SERVICE:ROLE pairs");
      const clients = context.clients();
      const id = await serviceAccountId(context, context.args[0]!);
      const { grants } = await clients.services.setServiceAccountGrants({
        serviceAccountId: id,
        grants: await parseGrants(clients, context.args.slice(1)),
      });
      context.print(
        { serviceAccountId: id, grants: grants.map((g) => ({ serviceId: g.serviceId, role: g.role })) },
        () => `${grants.length} grant(s) on ${id}\n`,
      );
    },
  },
  {
    path: ["service-accounts", "delete"],
    summary: "Delete a service account (its tokens stop working at once)",
    args: "SERVICE_ACCOUNT",
    async run(context) {
      const id = await serviceAccountId(context, oneArgument(context, "service account"));
      await context.clients().services.deleteServiceAccount({ serviceAccountId: id });
      context.print({ deleted: id }, () => `Deleted service account ${id}\n`);
    },
  },
];
