import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { Passkey } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/**
 * Renames one of one's passkeys (RenamePasskey); the server's rule on the name shows by the field.
 * Mounted afresh (a `key`) for each passkey, so no answer or name carries over.
 */
export function PasskeyRenameDialog(props: { passkey: Passkey | undefined; onDone: () => void }) {
  const [name, setName] = useState(props.passkey?.name ?? "");
  const rename = useMutation(AuthService.method.renamePasskey, { onSuccess: () => props.onDone() });
  const fields = rename.error === null ? new Map<string, string>() : describeError(rename.error).fields;
  return (
    <ConfirmDialog
      open={props.passkey !== undefined}
      title="Rename passkey"
      confirmLabel="Save name"
      danger={false}
      busy={rename.isPending}
      onCancel={props.onDone}
      onConfirm={() => rename.mutate({ passkeyId: props.passkey!.id, name: name.trim() })}
    >
      <TextField
        label="Name"
        maxLength={64}
        autoComplete="off"
        value={name}
        onChange={setName}
        error={fields.get("name")}
      />
      {rename.error === null || fields.size > 0 ? null : <ErrorState error={rename.error} />}
    </ConfirmDialog>
  );
}
