import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { VaultCaller, VaultService } from "../../domain/vault/vault-service.ts";
import type { TokenVaultService } from "../../gen/gatehouse/v1/token_vault_pb.js";
import { actorOf, callInfo } from "../context.ts";
import { toTimestamp } from "../mappers/timestamps.ts";
import { sessionToProto, tokenTypeFromProto, vaultEntryToProto } from "../mappers/vault-mapper.ts";

async function callerOf(context: HandlerContext): Promise<VaultCaller> {
  return { ...(await actorOf(context)), userAgent: callInfo(context).userAgent };
}

/** TokenVaultService: maps requests to the vault service and entries to their metadata. */
export function createVaultHandler(vault: VaultService): ServiceImpl<typeof TokenVaultService> {
  return {
    async storeToken(request, context) {
      const entry = await vault.storeToken(await callerOf(context), {
        userId: request.userId,
        clientId: request.clientId,
        purpose: request.purpose,
        token: request.token,
        tokenType: tokenTypeFromProto(request.tokenType),
      });
      return { entry: vaultEntryToProto(entry) };
    },
    async getAccessToken(request, context) {
      const grant = await vault.getAccessToken(await callerOf(context), {
        userId: request.userId,
        clientId: request.clientId,
        purpose: request.purpose,
        scopes: request.scopes,
      });
      return {
        accessToken: grant.accessToken,
        tokenType: "Bearer",
        expireTime: toTimestamp(grant.expiresAt),
      };
    },
    async requestOfflineToken(request, context) {
      const entry = await vault.requestOfflineToken(await callerOf(context), {
        purpose: request.purpose,
        password: request.password,
        totpCode: request.totpCode === "" ? undefined : request.totpCode,
      });
      return { entry: vaultEntryToProto(entry) };
    },
    async revokeOfflineToken(request, context) {
      await vault.revokeOfflineToken(await callerOf(context), {
        userId: request.userId,
        clientId: request.clientId,
        purpose: request.purpose,
      });
      return {};
    },
    async listVaultEntries(request, context) {
      const entries = await vault.listEntries(await callerOf(context), request.userId);
      return { entries: entries.map(vaultEntryToProto) };
    },
    async listSessions(request, context) {
      const sessions = await vault.listSessions(await callerOf(context), request.userId);
      return { sessions: sessions.map(sessionToProto) };
    },
    async revokeSession(request, context) {
      await vault.revokeSession(await callerOf(context), {
        sessionId: request.sessionId,
        userId: request.userId,
      });
      return {};
    },
    async reencryptVault(request, context) {
      const progress = await vault.reencrypt(await callerOf(context), request.maxEntries || 500);
      return {
        activeKeyId: progress.activeKeyId,
        resealed: progress.resealed,
        remaining: progress.remaining,
        failedEntryIds: [...progress.failed],
      };
    },
  };
}
