import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import type { Passkey, User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { PasskeysTable } from "../components/passkeys-table.tsx";
import { Section } from "../components/section.tsx";

/**
 * A user's passkeys as an admin sees them (ListUserPasskeys, `users.read`), and removing one
 * (DeleteUserPasskey), offered only with `users.write`: for a lost or stolen device.
 */
export function UserPasskeysSection(props: { user: User }) {
  const me = useMe();
  const invalidate = useInvalidate();
  const passkeys = useQuery(UserService.method.listUserPasskeys, { userId: props.user.id });
  const [removing, setRemoving] = useState<Passkey | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const remove = useMutation(UserService.method.deleteUserPasskey, {
    onSuccess: async () => {
      setRemoving(undefined);
      setNotice("Passkey removed.");
      await invalidate(UserService);
    },
  });
  const canRemove = me.can("users.write");
  return (
    <Section title="Passkeys" description="The passkeys this user signs in with.">
      {passkeys.isPending ? (
        <Loading label="Loading passkeys…" />
      ) : passkeys.isError ? (
        <ErrorState error={passkeys.error} title="The passkeys could not be loaded" />
      ) : (
        <PasskeysTable
          passkeys={passkeys.data.passkeys}
          empty="No passkeys"
          actions={
            canRemove
              ? (passkey) => (
                  <Button
                    variant="ghost"
                    aria-label={`Remove ${passkey.name || "passkey"}`}
                    onClick={() => {
                      remove.reset();
                      setRemoving(passkey);
                    }}
                  >
                    Remove
                  </Button>
                )
              : undefined
          }
        />
      )}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      <ConfirmDialog
        open={removing !== undefined}
        title="Remove this passkey?"
        confirmLabel="Remove passkey"
        busy={remove.isPending}
        onCancel={() => setRemoving(undefined)}
        onConfirm={() => remove.mutate({ userId: props.user.id, passkeyId: removing!.id })}
      >
        <p>
          “{removing?.name || "Passkey"}” can no longer sign {props.user.username} in. Their sessions stay
          open; revoke them below if the device was lost.
        </p>
        {remove.error === null ? null : (
          <ErrorState error={remove.error} title="The passkey was not removed" />
        )}
      </ConfirmDialog>
    </Section>
  );
}
