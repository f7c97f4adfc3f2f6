import { create, toJson } from "@bufbuild/protobuf";
import {
  type ProfileChanges,
  ProfileChangesSchema,
  type User,
  UserSchema,
  UserStatus,
} from "../../gen/gatehouse/v1/types_pb.js";
import { ListServiceGrantsResponseSchema } from "../../gen/gatehouse/v1/user_pb.js";
import type { Command, CommandContext, Flag } from "../command.ts";
import { UsageError } from "../exit-codes.ts";
import { oneArgument, parseGrants, resolveUserId } from "../lookup.ts";
import { enumName, fields, table, time } from "../output.ts";

const PROFILE_FLAGS = {
  "first-name": "firstName",
  "middle-name": "middleName",
  "last-name": "lastName",
  phone: "phone",
  telegram: "telegram",
  organization: "organization",
  department: "department",
  title: "title",
} as const satisfies Record<string, keyof ProfileChanges>;

const profileFlags: Record<string, Flag> = Object.fromEntries(
  Object.keys(PROFILE_FLAGS).map((flag) => [
    flag,
    { type: "string", value: "TEXT", help: flag.replace("-", " ") },
  ]),
);

function profileFrom(context: CommandContext): ProfileChanges {
  const changes: Partial<Record<(typeof PROFILE_FLAGS)[keyof typeof PROFILE_FLAGS], string>> = {};
  for (const [flag, field] of Object.entries(PROFILE_FLAGS)) {
    const value = context.flags[flag];
    if (typeof value === "string") changes[field] = value;
  }
  return create(ProfileChangesSchema, changes);
}

const STATUS_BY_NAME: Record<string, UserStatus> = {
  active: UserStatus.ACTIVE,
  disabled: UserStatus.DISABLED,
  locked: UserStatus.LOCKED,
};

const status = (user: User) => enumName(UserStatus, user.status, "USER_STATUS_");
const name = (user: User) => [user.firstName, user.lastName].filter(Boolean).join(" ");

function showUser(context: CommandContext, user: User): void {
  context.print(toJson(UserSchema, user), () =>
    fields([
      ["id", user.id],
      ["username", user.username],
      ["email", `${user.email}${user.emailVerified ? " (verified)" : ""}`],
      ["name", name(user) || "-"],
      ["status", status(user)],
      ["mfa", user.mfaEnabled ? "on" : "off"],
      ["roles", user.roles.join(" ") || "-"],
      ["phone", user.phone || "-"],
      ["organization", [user.organization, user.department, user.title].filter(Boolean).join(" / ") || "-"],
      ["created", time(user.creationDate)],
      ["last login", time(user.lastLoginDate)],
    ]),
  );
}

const list: Command = {
  path: ["users", "list"],
  summary: "List or search users",
  flags: {
    query: { type: "string", short: "q", value: "TEXT", help: "match username, email or name" },
    status: { type: "string", value: "STATUS", help: "active, disabled or locked" },
    role: { type: "string", value: "ROLE", help: "only users holding this RBAC role" },
    limit: { type: "string", value: "N", help: "at most N users (default 50)" },
  },
  async run(context) {
    const statusFlag = context.flags.status as string | undefined;
    const wanted = statusFlag === undefined ? 0 : STATUS_BY_NAME[statusFlag];
    if (wanted === undefined) throw new UsageError("--status is active, disabled or locked");
    const limit = Number(context.flags.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit is a positive integer");
    const users: User[] = [];
    let pageToken = "";
    do {
      const page = await context.clients().users.listUsers({
        query: (context.flags.query as string | undefined) ?? "",
        status: wanted,
        role: (context.flags.role as string | undefined) ?? "",
        pageSize: Math.min(500, limit - users.length),
        pageToken,
      });
      users.push(...page.users);
      pageToken = page.nextPageToken;
    } while (pageToken !== "" && users.length < limit);
    context.print(
      users.map((user) => toJson(UserSchema, user)),
      () =>
        table(
          ["ID", "USERNAME", "EMAIL", "NAME", "STATUS", "ROLES"],
          users.map((u) => [u.id, u.username, u.email, name(u), status(u), u.roles.join(",")]),
        ),
    );
  },
};

const get: Command = {
  path: ["users", "get"],
  summary: "Show one user",
  args: "USER",
  async run(context) {
    const clients = context.clients();
    const { user } = await clients.users.getUser({
      userId: await resolveUserId(clients, oneArgument(context, "user (id, username or email)")),
    });
    showUser(context, user!);
  },
};

const createUser: Command = {
  path: ["users", "create"],
  summary: "Create a user (the password, if any, from stdin)",
  flags: {
    username: { type: "string", value: "NAME", help: "required" },
    email: { type: "string", value: "EMAIL", help: "required" },
    "password-stdin": { type: "boolean", help: "read an initial password from stdin" },
    "email-verified": { type: "boolean", help: "mark the email verified" },
    role: { type: "string", multiple: true, value: "ROLE", help: "an RBAC role (repeatable)" },
    ...profileFlags,
  },
  async run(context) {
    const { username, email } = context.flags as { username?: string; email?: string };
    if (username === undefined || email === undefined)
      throw new UsageError("--username and --email are required");
    const password =
      context.flags["password-stdin"] === true ? (await context.io.readStdin()).replace(/\r?\n$/, "") : "";
    const { user } = await context.clients().users.createUser({
      username,
      email,
      password,
      emailVerified: context.flags["email-verified"] === true,
      profile: profileFrom(context),
      roles: (context.flags.role as string[] | undefined) ?? [],
    });
    showUser(context, user!);
  },
};

const update: Command = {
  path: ["users", "update"],
  summary: "Change a user's identity fields or local metadata",
  args: "USER",
  flags: {
    username: { type: "string", value: "NAME", help: "new username" },
    email: { type: "string", value: "EMAIL", help: "new email" },
    ...profileFlags,
  },
  async run(context) {
    const clients = context.clients();
    const userId = await resolveUserId(clients, oneArgument(context, "user (id, username or email)"));
    const { user } = await clients.users.updateUser({
      userId,
      username: context.flags.username as string | undefined,
      email: context.flags.email as string | undefined,
      profile: profileFrom(context),
    });
    showUser(context, user!);
  },
};

const setStatus = (verb: "disable" | "enable", value: UserStatus): Command => ({
  path: ["users", verb],
  summary: verb === "disable" ? "Disable a user (every open session is denied at once)" : "Activate a user",
  args: "USER",
  async run(context) {
    const clients = context.clients();
    const userId = await resolveUserId(clients, oneArgument(context, "user (id, username or email)"));
    const { user } = await clients.users.updateUser({ userId, status: value });
    showUser(context, user!);
  },
});

const remove: Command = {
  path: ["users", "delete"],
  summary: "Delete a user (soft unless --hard)",
  args: "USER",
  flags: {
    hard: { type: "boolean", help: "remove the record for good" },
    yes: { type: "boolean", help: "required with --hard: no prompt is shown" },
  },
  async run(context) {
    const hard = context.flags.hard === true;
    if (hard && context.flags.yes !== true)
      throw new UsageError("--hard deletes for good: add --yes to confirm");
    const clients = context.clients();
    const userId = await resolveUserId(clients, oneArgument(context, "user (id, username or email)"));
    await clients.users.deleteUser({ userId, hard });
    context.print({ deleted: userId, hard }, () => `Deleted ${userId}${hard ? " (hard)" : ""}\n`);
  },
};

const grants: Command = {
  path: ["users", "grants"],
  summary: "Show a user's direct and effective service grants",
  args: "USER",
  async run(context) {
    const clients = context.clients();
    const answer = await clients.users.listServiceGrants({
      userId: await resolveUserId(clients, oneArgument(context, "user (id, username or email)")),
    });
    context.print(toJson(ListServiceGrantsResponseSchema, answer), () =>
      table(
        ["SERVICE", "ROLE", "SOURCE"],
        answer.effectiveGrants.map((g) => [g.serviceSlug, g.role, g.source]),
      ),
    );
  },
};

const setGrants: Command = {
  path: ["users", "set-grants"],
  summary: "Replace a user's direct service grants (none given: remove them all)",
  args: "USER [SERVICE:ROLE...]",
  async run(context) {
    if (context.args.length < 1) throw new UsageError("name the user, then SERVICE:ROLE pairs");
    const clients = context.clients();
    const userId = await resolveUserId(clients, context.args[0]!);
    const wanted = await parseGrants(clients, context.args.slice(1));
    const answer = await clients.users.setServiceGrants({ userId, grants: wanted });
    context.print(
      { userId, grants: answer.grants.map((g) => ({ serviceId: g.serviceId, role: g.role })) },
      () => `${answer.grants.length} direct grant(s) on ${userId}\n`,
    );
  },
};

const setRoles: Command = {
  path: ["users", "set-roles"],
  summary: "Replace a user's RBAC roles",
  args: "USER [ROLE...]",
  async run(context) {
    if (context.args.length < 1) throw new UsageError("name the user, then the roles");
    const clients = context.clients();
    const userId = await resolveUserId(clients, context.args[0]!);
    const { user } = await clients.users.setUserRoles({ userId, roles: context.args.slice(1) });
    showUser(context, user!);
  },
};

const setPassword: Command = {
  path: ["users", "set-password"],
  summary: "Set a user's password (read from stdin; their sessions end)",
  args: "USER",
  async run(context) {
    const password = (await context.io.readStdin()).replace(/\r?\n$/, "");
    if (password === "") throw new UsageError("give the new password on stdin");
    const clients = context.clients();
    const userId = await resolveUserId(clients, oneArgument(context, "user (id, username or email)"));
    await clients.users.setUserPassword({ userId, password });
    context.print({ userId }, () => `Password set for ${userId}\n`);
  },
};

const revokeSessions: Command = {
  path: ["users", "revoke-sessions"],
  summary: "End every session of a user, on every replica at once",
  args: "USER",
  async run(context) {
    const clients = context.clients();
    const userId = await resolveUserId(clients, oneArgument(context, "user (id, username or email)"));
    const { sessionsEnded } = await clients.users.revokeUserSessions({ userId });
    context.print({ userId, sessionsEnded }, () => `${sessionsEnded} session(s) ended\n`);
  },
};

export const userCommands: readonly Command[] = [
  list,
  get,
  createUser,
  update,
  setStatus("disable", UserStatus.DISABLED),
  setStatus("enable", UserStatus.ACTIVE),
  remove,
  grants,
  setGrants,
  setRoles,
  setPassword,
  revokeSessions,
];
