import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Passkey } from "../../domain/passkeys/passkey.ts";
import type { CeremonyStart } from "../../domain/passkeys/passkey-assertions.ts";
import type { PasskeySchema } from "../../gen/gatehouse/v1/types_pb.js";

/** The public key and credential id stay on the server. */
export function toPasskeyMessage(passkey: Passkey): MessageInitShape<typeof PasskeySchema> {
  return {
    id: passkey.id,
    name: passkey.name,
    createTime: timestampFromDate(passkey.createdAt),
    lastUseTime: passkey.lastUsedAt === undefined ? undefined : timestampFromDate(passkey.lastUsedAt),
    backupEligible: passkey.backupEligible,
    backedUp: passkey.backedUp,
    transports: [...passkey.transports],
    aaguid: passkey.aaguid,
    userVerified: passkey.userVerified,
  };
}

export const toCeremonyMessage = (start: CeremonyStart) => ({
  ceremonyId: start.ceremonyId,
  optionsJson: start.optionsJson,
  expireTime: timestampFromDate(start.expiresAt),
});
