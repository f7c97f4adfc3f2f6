import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { SyncRun } from "../../domain/sync/sync-ports.ts";
import type { UserSyncService } from "../../domain/sync/user-sync-service.ts";
import type { SyncFromKeycloakResponseSchema, UserService } from "../../gen/gatehouse/v1/user_pb.js";
import { actorOf } from "../context.ts";
import { toTimestamp } from "../mappers/timestamps.ts";
import { toUserMessage } from "../mappers/user-mapper.ts";

export type KeycloakSyncHandler = Pick<
  ServiceImpl<typeof UserService>,
  "syncFromKeycloak" | "syncToKeycloak" | "getSyncStatus"
>;

const toRunMessage = (run: SyncRun): MessageInitShape<typeof SyncFromKeycloakResponseSchema> => ({
  created: run.created,
  updated: run.updated,
  unchanged: run.unchanged,
  disabled: run.disabled,
  failed: run.failed,
  startTime: toTimestamp(run.startedAt),
  finishTime: toTimestamp(run.finishedAt),
});

/**
 * UserService's Keycloak methods under IDENTITY_PROVIDER=keycloak; merged
 * over the user handler's, which answer FAILED_PRECONDITION under the
 * built-in provider.
 */
export function createKeycloakSyncHandler(deps: { sync: UserSyncService }): KeycloakSyncHandler {
  const { sync } = deps;
  return {
    async syncFromKeycloak(_request, context) {
      return toRunMessage(await sync.syncAll(await actorOf(context)));
    },

    async syncToKeycloak(request, context) {
      return { user: toUserMessage(await sync.pushToKeycloak(await actorOf(context), request.userId)) };
    },

    async getSyncStatus(request, context) {
      const status = await sync.status(await actorOf(context), request.includeDrift);
      return {
        lastFullSyncTime: toTimestamp(status.lastRun?.finishedAt),
        lastFullSyncResult: status.lastRun === undefined ? undefined : toRunMessage(status.lastRun),
        failuresSince: status.failuresSince,
        onlyInKeycloak: [...(status.drift?.onlyInKeycloak ?? [])],
        onlyLocal: [...(status.drift?.onlyLocal ?? [])],
        differing: (status.drift?.differing ?? []).map((drift) => ({
          userId: drift.userId,
          externalId: drift.externalId,
          username: drift.username,
          fields: [...drift.fields],
        })),
        driftComputed: status.drift !== undefined,
      };
    },
  };
}
