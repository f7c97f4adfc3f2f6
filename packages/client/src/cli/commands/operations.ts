import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditEvent,
  AuditEventSchema,
  GetSyncStatusResponseSchema,
  SyncFromKeycloakResponseSchema,
} from "../../gen/gatehouse/v1/user_pb.js";
import type { Command } from "../command.ts";
import { UsageError } from "../exit-codes.ts";
import { resolveUserId } from "../lookup.ts";
import { fields, table, time } from "../output.ts";

const FOLLOW_INTERVAL_MS = 2_000;

const auditRow = (e: AuditEvent) => [
  time(e.time),
  e.action,
  e.result,
  e.actorId || "-",
  e.targetId || "-",
  e.reason,
];

export const operationCommands: readonly Command[] = [
  {
    path: ["sync", "run"],
    summary: "Sync every user from Keycloak now (IDENTITY_PROVIDER=keycloak)",
    async run(context) {
      const result = await context.clients().users.syncFromKeycloak({});
      context.print(toJson(SyncFromKeycloakResponseSchema, result), () =>
        fields([
          ["created", String(result.created)],
          ["updated", String(result.updated)],
          ["unchanged", String(result.unchanged)],
          ["disabled", String(result.disabled)],
          ["failed", String(result.failed)],
        ]),
      );
    },
  },
  {
    path: ["sync", "user"],
    summary: "Push one user's record to Keycloak",
    args: "USER",
    async run(context) {
      if (context.args.length !== 1) throw new UsageError("name one user");
      const clients = context.clients();
      const userId = await resolveUserId(clients, context.args[0]!);
      await clients.users.syncToKeycloak({ userId });
      context.print({ synced: userId }, () => `Synced ${userId} to Keycloak\n`);
    },
  },
  {
    path: ["sync", "status"],
    summary: "Last full sync, failures since, and (with --drift) what differs",
    flags: { drift: { type: "boolean", help: "compare every user with Keycloak now" } },
    async run(context) {
      const status = await context
        .clients()
        .users.getSyncStatus({ includeDrift: context.flags.drift === true });
      context.print(toJson(GetSyncStatusResponseSchema, status), () => {
        const summary = fields([
          ["last full sync", time(status.lastFullSyncTime)],
          ["failures since", String(status.failuresSince)],
          ...(status.driftComputed
            ? ([
                ["only in Keycloak", String(status.onlyInKeycloak.length)],
                ["only local", String(status.onlyLocal.length)],
                ["differing", String(status.differing.length)],
              ] as const)
            : []),
        ]);
        return status.differing.length === 0
          ? summary
          : summary +
              table(
                ["USER", "FIELDS"],
                status.differing.map((d) => [d.username, d.fields.join(",")]),
              );
      });
    },
  },
  {
    path: ["audit", "tail"],
    summary: "The newest audit events; --follow keeps printing new ones",
    flags: {
      limit: { type: "string", value: "N", help: "how many to show first (default 20)" },
      action: { type: "string", value: "ACTION", help: "only this action, e.g. auth.login" },
      actor: { type: "string", value: "ID", help: "only events by this actor" },
      follow: { type: "boolean", short: "f", help: "keep polling for new events (Ctrl-C to stop)" },
    },
    async run(context) {
      const limit = Number(context.flags.limit ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError("--limit is 1 to 500");
      const filter = {
        action: (context.flags.action as string | undefined) ?? "",
        actorId: (context.flags.actor as string | undefined) ?? "",
      };
      const { users } = context.clients();
      const show = (events: AuditEvent[]) => {
        // Newest first from the server; a log reads oldest first.
        const ordered = [...events].reverse();
        if (context.json)
          for (const e of ordered) context.io.write(`${JSON.stringify(toJson(AuditEventSchema, e))}\n`);
        else if (ordered.length > 0)
          context.io.write(
            table(["TIME", "ACTION", "RESULT", "ACTOR", "TARGET", "REASON"], ordered.map(auditRow)),
          );
      };
      const first = await users.listAuditEvents({ ...filter, pageSize: limit });
      show(first.events);
      if (context.flags.follow !== true) return;
      const seen = new Set(first.events.map((e) => e.id));
      let since = first.events[0]?.time ?? timestampFromDate(new Date());
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
        const page = await users.listAuditEvents({ ...filter, pageSize: 500, since });
        const fresh = page.events.filter((e) => !seen.has(e.id));
        for (const e of fresh) seen.add(e.id);
        show(fresh);
        const newest = fresh[0]?.time;
        if (newest !== undefined && timestampDate(newest) > timestampDate(since)) since = newest;
      }
    },
  },
];
