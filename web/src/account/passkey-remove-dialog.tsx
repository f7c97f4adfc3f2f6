import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { Passkey } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { describeError } from "../api/describe-error.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { TextField } from "../components/text-field.tsx";

/** The server's answer when the passkey is the last second factor: prove it is you with the password. */
const REAUTHENTICATE = new Set(["reauthentication_required", "invalid_credentials"]);

/**
 * Removes one of one's passkeys (DeletePasskey). The first try sends no password; when the server
 * answers that this is the last second factor, the dialog asks for the password and tries again.
 * Mounted afresh (a `key`) for each passkey, so no answer or password carries over.
 */
export function PasskeyRemoveDialog(props: {
  passkey: Passkey | undefined;
  onDone: (removed: boolean) => void;
}) {
  const [password, setPassword] = useState("");
  const [needsPassword, setNeedsPassword] = useState(false);
  const remove = useMutation(AuthService.method.deletePasskey, {
    onSuccess: () => props.onDone(true),
    onError: (error) => {
      if (REAUTHENTICATE.has(describeError(error).reason ?? "")) setNeedsPassword(true);
    },
  });
  const described = remove.error === null ? undefined : describeError(remove.error);
  // A wrong password is the field's error; "password needed" is what the paragraph above it says.
  const passwordError =
    described?.reason === "invalid_credentials" ? described.message : described?.fields.get("password");
  const handled =
    described !== undefined &&
    (REAUTHENTICATE.has(described.reason ?? "") || described.fields.has("password"));
  return (
    <ConfirmDialog
      open={props.passkey !== undefined}
      title="Remove this passkey?"
      confirmLabel="Remove passkey"
      busy={remove.isPending}
      onCancel={() => props.onDone(false)}
      onConfirm={() => remove.mutate({ passkeyId: props.passkey!.id, password })}
    >
      <p>
        “{props.passkey?.name || "Passkey"}” can no longer sign you in. Remove it from the device or password
        manager as well.
      </p>
      {needsPassword ? (
        <>
          <p>It is your last second factor: enter your password to confirm it is you.</p>
          <TextField
            label="Password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={setPassword}
            error={passwordError}
          />
        </>
      ) : null}
      {described === undefined || handled ? null : (
        <ErrorState error={remove.error} title="The passkey was not removed" />
      )}
    </ConfirmDialog>
  );
}
