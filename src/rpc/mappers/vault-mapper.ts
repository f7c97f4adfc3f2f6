import { create } from "@bufbuild/protobuf";
import type { SessionInfo } from "../../domain/ports/identity-provider.ts";
import type {
  VaultEntry as DomainEntry,
  VaultTokenType as DomainTokenType,
} from "../../domain/vault/vault-entry.ts";
import {
  type VaultEntry,
  VaultEntrySchema,
  VaultEntryState,
  VaultTokenType,
} from "../../gen/gatehouse/v1/token_vault_pb.js";
import { type Session, SessionSchema } from "../../gen/gatehouse/v1/types_pb.js";
import { toTimestamp } from "./timestamps.ts";

/** Validation (defined_only, not 0) leaves REFRESH and OFFLINE. */
export const tokenTypeFromProto = (type: VaultTokenType): DomainTokenType =>
  type === VaultTokenType.OFFLINE ? "offline" : "refresh";

/** An entry's metadata; the message has no field for the token itself. */
export function vaultEntryToProto(entry: DomainEntry): VaultEntry {
  return create(VaultEntrySchema, {
    id: entry.id,
    userId: entry.userId,
    clientId: entry.clientId,
    purpose: entry.purpose,
    tokenType: entry.tokenType === "offline" ? VaultTokenType.OFFLINE : VaultTokenType.REFRESH,
    state: entry.state === "active" ? VaultEntryState.ACTIVE : VaultEntryState.DEAD,
    sessionId: entry.sessionId,
    creationDate: toTimestamp(entry.createdAt),
    changeDate: toTimestamp(entry.updatedAt),
    lastUsedDate: toTimestamp(entry.lastUsedAt),
    expireTime: toTimestamp(entry.expiresAt),
  });
}

export function sessionToProto(session: SessionInfo): Session {
  return create(SessionSchema, {
    id: session.id,
    userId: session.userId,
    ipAddress: session.ipAddress,
    userAgent: session.userAgent,
    startDate: toTimestamp(session.startedAt),
    lastAccessDate: toTimestamp(session.lastUsedAt),
    expireDate: toTimestamp(session.expiresAt),
    clients: session.clientId === "" ? [] : [session.clientId],
    offline: session.offline,
    lastSeenIpAddress: session.lastSeenIpAddress,
    lastSeenUserAgent: session.lastSeenUserAgent,
    lastSeenDate: toTimestamp(session.lastSeenAt),
  });
}
