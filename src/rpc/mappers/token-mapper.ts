import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { IssuedTokens } from "../../domain/ports/identity-provider.ts";
import type { TokenSetSchema } from "../../gen/gatehouse/v1/types_pb.js";

export function toTokenSet(
  tokens: IssuedTokens,
  now: number = Date.now(),
): MessageInitShape<typeof TokenSetSchema> {
  return {
    accessToken: tokens.accessToken,
    tokenType: "Bearer",
    expiresIn: Math.max(0, Math.round((tokens.accessTokenExpiresAt.getTime() - now) / 1000)),
    accessTokenExpireTime: timestampFromDate(tokens.accessTokenExpiresAt),
    refreshToken: tokens.refreshToken,
    refreshTokenExpireTime:
      tokens.refreshTokenExpiresAt === undefined
        ? undefined
        : timestampFromDate(tokens.refreshTokenExpiresAt),
    sessionId: tokens.sessionId,
    scope: tokens.scope,
  };
}
