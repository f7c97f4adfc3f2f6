import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { GrantService } from "../../domain/grants/grant-service.ts";
import type { PasskeyService } from "../../domain/passkeys/passkey-service.ts";
import type { UserSyncService } from "../../domain/sync/user-sync-service.ts";
import type { UserService as UserDomain } from "../../domain/users/user-service.ts";
import { UserStatus } from "../../gen/gatehouse/v1/types_pb.js";
import type { UserService } from "../../gen/gatehouse/v1/user_pb.js";
import { actorOf } from "../context.ts";
import { toPasskeyMessage } from "../mappers/passkey-mapper.ts";
import { toSyncRunMessage, toSyncStatusMessage } from "../mappers/sync-mapper.ts";
import { fromProfileChanges, fromUserStatus, toUserMessage } from "../mappers/user-mapper.ts";

/**
 * UserService. The Keycloak sync methods need the sync service, present only
 * under IDENTITY_PROVIDER=keycloak; without it they answer FAILED_PRECONDITION
 * (after the permission check).
 */
export function createUserHandler(deps: {
  users: UserDomain;
  passkeys: PasskeyService;
  grants: GrantService;
  sync: UserSyncService | undefined;
}): ServiceImpl<typeof UserService> {
  const { users, passkeys, grants, sync } = deps;
  return {
    async createUser(request, context) {
      const user = await users.create(await actorOf(context), {
        username: request.username,
        email: request.email,
        password: request.password === "" ? undefined : request.password,
        emailVerified: request.emailVerified,
        profile: fromProfileChanges(request.profile),
        roles: request.roles,
      });
      return { user: toUserMessage(user) };
    },

    async getUser(request, context) {
      return { user: toUserMessage(await users.get(await actorOf(context), request.userId)) };
    },

    async listUsers(request, context) {
      const page = await users.list(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        query: request.query,
        status: fromUserStatus(request.status),
        role: request.role,
      });
      return { users: page.items.map(toUserMessage), nextPageToken: page.nextPageToken };
    },

    async updateUser(request, context) {
      const user = await users.update(await actorOf(context), request.userId, {
        username: request.username,
        email: request.email,
        emailVerified: request.emailVerified,
        profile: fromProfileChanges(request.profile),
        status:
          request.status === undefined
            ? undefined
            : request.status === UserStatus.DISABLED
              ? "disabled"
              : "active",
      });
      return { user: toUserMessage(user) };
    },

    async deleteUser(request, context) {
      await users.delete(await actorOf(context), request.userId, request.hard);
      return {};
    },

    async setUserPassword(request, context) {
      await users.setPassword(await actorOf(context), request.userId, request.password);
      return {};
    },

    async revokeUserSessions(request, context) {
      return { sessionsEnded: await users.revokeSessions(await actorOf(context), request.userId) };
    },

    async setUserRoles(request, context) {
      return {
        user: toUserMessage(await users.setRoles(await actorOf(context), request.userId, request.roles)),
      };
    },

    async setUserBusinessRoles(request, context) {
      const user = await users.setBusinessRoles(
        await actorOf(context),
        request.userId,
        request.businessRoleIds,
      );
      return { user: toUserMessage(user) };
    },

    async setServiceGrants(request, context) {
      const result = await grants.replace(
        await actorOf(context),
        { kind: "user", id: request.userId },
        request.grants.map((grant) => ({ serviceId: grant.serviceId, role: grant.role })),
      );
      return { grants: result };
    },

    async listServiceGrants(request, context) {
      const { direct, effective } = await grants.listForUser(await actorOf(context), request.userId);
      return { directGrants: direct, effectiveGrants: effective };
    },

    async syncFromKeycloak(_request, context) {
      const actor = await actorOf(context);
      if (sync === undefined) return users.requireKeycloak(actor, "users.sync");
      return toSyncRunMessage(await sync.syncAll(actor));
    },

    async syncToKeycloak(request, context) {
      const actor = await actorOf(context);
      if (sync === undefined) return users.requireKeycloak(actor, "users.sync");
      return { user: toUserMessage(await sync.pushToKeycloak(actor, request.userId)) };
    },

    async getSyncStatus(request, context) {
      const actor = await actorOf(context);
      if (sync === undefined) return users.requireKeycloak(actor, "users.read");
      return toSyncStatusMessage(await sync.status(actor, request.includeDrift));
    },

    async listAuditEvents(request, context) {
      const page = await users.listAuditEvents(await actorOf(context), {
        pageSize: request.pageSize,
        pageToken: request.pageToken,
        action: request.action,
        actorId: request.actorId,
        targetId: request.targetId,
        result: request.result as "" | "success" | "failure",
        since: request.since === undefined ? undefined : timestampDate(request.since),
        until: request.until === undefined ? undefined : timestampDate(request.until),
      });
      return {
        events: page.items.map((event) => ({
          id: event.id,
          time: timestampFromDate(event.time),
          action: event.action,
          result: event.result,
          actorId: event.actorId,
          actorKind: event.actorKind,
          targetId: event.targetId,
          targetKind: event.targetKind,
          ipAddress: event.ipAddress,
          requestId: event.requestId,
          reason: event.reason,
          details: { ...event.details },
        })),
        nextPageToken: page.nextPageToken,
      };
    },

    // PLACEHOLDER (replaced by the passkeys/console work before it lands).
    async resetUserMfa() {
      throw new ConnectError("not served yet", Code.Unimplemented);
    },

    async listUserPasskeys(request, context) {
      const found = await passkeys.listForUser(await actorOf(context), request.userId);
      return { passkeys: found.map(toPasskeyMessage) };
    },

    async deleteUserPasskey(request, context) {
      await passkeys.deleteForUser(await actorOf(context), request.userId, request.passkeyId);
      return {};
    },
  };
}
