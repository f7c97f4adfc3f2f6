import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import type { Passkey } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { PasskeysTable } from "../components/passkeys-table.tsx";
import { Section } from "../components/section.tsx";
import { PasskeyAddForm } from "./passkey-add-form.tsx";
import { PasskeyRemoveDialog } from "./passkey-remove-dialog.tsx";
import { PasskeyRenameDialog } from "./passkey-rename-dialog.tsx";

/**
 * One's passkeys (ListPasskeys): sign in without a password, or use one as the second step after
 * it. Add (a WebAuthn registration), rename and remove.
 */
export function AccountPasskeysSection() {
  const invalidate = useInvalidate();
  const passkeys = useQuery(AuthService.method.listPasskeys, {});
  const [adding, setAdding] = useState(false);
  const [renaming, setRenaming] = useState<Passkey | undefined>(undefined);
  const [removing, setRemoving] = useState<Passkey | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const changed = async (message: string) => {
    setNotice(message);
    await invalidate(AuthService);
  };
  return (
    <Section
      title="Passkeys"
      description="Sign in with your fingerprint, face or device PIN instead of a password, or use a passkey as your second step."
      actions={
        adding ? undefined : (
          <Button
            variant="primary"
            onClick={() => {
              setNotice(undefined);
              setAdding(true);
            }}
          >
            Add a passkey
          </Button>
        )
      }
    >
      {adding ? (
        <PasskeyAddForm
          onCancel={() => setAdding(false)}
          onAdded={(name) => {
            setAdding(false);
            void changed(`Passkey “${name}” added.`);
          }}
        />
      ) : null}
      {passkeys.isPending ? (
        <Loading label="Loading passkeys…" />
      ) : passkeys.isError ? (
        <ErrorState error={passkeys.error} title="Your passkeys could not be loaded" />
      ) : (
        <PasskeysTable
          passkeys={passkeys.data.passkeys}
          empty="No passkeys yet"
          actions={(passkey) => (
            <>
              <Button
                variant="ghost"
                aria-label={`Rename ${passkey.name || "passkey"}`}
                onClick={() => setRenaming(passkey)}
              >
                Rename
              </Button>
              <Button
                variant="ghost"
                aria-label={`Remove ${passkey.name || "passkey"}`}
                onClick={() => setRemoving(passkey)}
              >
                Remove
              </Button>
            </>
          )}
        />
      )}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      <PasskeyRenameDialog
        key={`rename-${renaming?.id ?? ""}`}
        passkey={renaming}
        onDone={() => {
          setRenaming(undefined);
          void invalidate(AuthService);
        }}
      />
      <PasskeyRemoveDialog
        key={`remove-${removing?.id ?? ""}`}
        passkey={removing}
        onDone={(removed) => {
          setRemoving(undefined);
          if (removed) void changed("Passkey removed.");
        }}
      />
    </Section>
  );
}
