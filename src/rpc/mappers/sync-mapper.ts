import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SyncRun } from "../../domain/sync/sync-ports.ts";
import type { SyncStatus } from "../../domain/sync/user-sync-service.ts";
import type {
  GetSyncStatusResponseSchema,
  SyncFromKeycloakResponseSchema,
} from "../../gen/gatehouse/v1/user_pb.js";
import { toTimestamp } from "./timestamps.ts";

export const toSyncRunMessage = (run: SyncRun): MessageInitShape<typeof SyncFromKeycloakResponseSchema> => ({
  created: run.created,
  updated: run.updated,
  unchanged: run.unchanged,
  disabled: run.disabled,
  failed: run.failed,
  startTime: toTimestamp(run.startedAt),
  finishTime: toTimestamp(run.finishedAt),
});

export const toSyncStatusMessage = (
  status: SyncStatus,
): MessageInitShape<typeof GetSyncStatusResponseSchema> => ({
  lastFullSyncTime: toTimestamp(status.lastRun?.finishedAt),
  lastFullSyncResult: status.lastRun === undefined ? undefined : toSyncRunMessage(status.lastRun),
  failuresSince: status.failuresSince,
  usersSyncedInLastDay: status.usersSyncedInLastDay,
  failuresInLastDay: status.failuresInLastDay,
  failureRateInLastDay: status.failureRateInLastDay,
  onlyInKeycloak: [...(status.drift?.onlyInKeycloak ?? [])],
  onlyLocal: [...(status.drift?.onlyLocal ?? [])],
  differing: (status.drift?.differing ?? []).map((drift) => ({
    userId: drift.userId,
    externalId: drift.externalId,
    username: drift.username,
    fields: [...drift.fields],
  })),
  driftComputed: status.drift !== undefined,
  currentRun:
    status.currentRun === undefined
      ? undefined
      : {
          startTime: toTimestamp(status.currentRun.startedAt),
          processed: status.currentRun.processed,
          total: status.currentRun.total,
          created: status.currentRun.created,
          updated: status.currentRun.updated,
          unchanged: status.currentRun.unchanged,
          disabled: status.currentRun.disabled,
          failed: status.currentRun.failed,
        },
});
