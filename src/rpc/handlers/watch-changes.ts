import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ChangeKind as DomainChangeKind } from "../../domain/change-feed/change-feed.ts";
import type { ChangeStream, StreamItem } from "../../domain/change-feed/change-stream.ts";
import type { WatchAccess } from "../../domain/change-feed/watch-access.ts";
import {
  ChangeKind,
  type WatchChangesRequest,
  type WatchChangesResponse,
  WatchChangesResponseSchema,
} from "../../gen/gatehouse/v1/auth_pb.js";
import { requirePrincipal } from "../context.ts";
import { toTimestamp } from "../mappers/timestamps.ts";

const KINDS: Record<DomainChangeKind, ChangeKind> = {
  session_revoked: ChangeKind.SESSION_REVOKED,
  token_revoked: ChangeKind.TOKEN_REVOKED,
  subject_cutoff: ChangeKind.SUBJECT_REVOKED,
  access_changed: ChangeKind.ACCESS_CHANGED,
  services_changed: ChangeKind.SERVICES_CHANGED,
};

/** AuthService.WatchChanges: the change stream, for watchers WatchAccess admits. */
export function createWatchChangesHandler(stream: ChangeStream, access: WatchAccess) {
  return async function* watchChanges(
    request: WatchChangesRequest,
    context: HandlerContext,
  ): AsyncGenerator<WatchChangesResponse> {
    await access.requireWatcher(await requirePrincipal(context));
    for await (const item of stream.watch(request.cursor, context.signal)) yield toMessage(item);
  };
}

function toMessage(item: StreamItem): WatchChangesResponse {
  switch (item.type) {
    case "heartbeat":
      return create(WatchChangesResponseSchema, {
        event: { case: "heartbeat", value: {} },
        cursor: item.cursor,
      });
    case "reset":
      return create(WatchChangesResponseSchema, {
        event: { case: "reset", value: { reason: item.reason } },
        cursor: item.cursor,
      });
    case "change": {
      const change = item.change;
      return create(WatchChangesResponseSchema, {
        event: {
          case: "change",
          value: {
            id: change.id,
            kind: KINDS[change.kind] ?? ChangeKind.UNSPECIFIED,
            key: change.key,
            issuedBefore:
              change.kind === "subject_cutoff" ? toTimestamp(new Date(change.value * 1000)) : undefined,
            expireTime: toTimestamp(new Date(change.expiresAt)),
          },
        },
        cursor: item.cursor,
      });
    }
  }
}
