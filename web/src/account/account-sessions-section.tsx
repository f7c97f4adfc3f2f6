import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { SessionsTable } from "../components/sessions-table.tsx";
import { useSession } from "../session/session-context.tsx";

/**
 * One's own sessions, and signing out: this device (Logout ends this session in Gatehouse, then
 * the provider's end-session endpoint ends its own) or everywhere (LogoutEverywhere first).
 */
export function AccountSessionsSection() {
  const session = useSession();
  const [confirm, setConfirm] = useState(false);
  const logout = useMutation(AuthService.method.logout, { onSettled: () => void session.signOut("account") });
  const everywhere = useMutation(AuthService.method.logoutEverywhere, {
    onSuccess: () => void session.signOut("account"),
  });
  return (
    <Section
      title="Sessions"
      description="Where you are signed in."
      actions={
        <>
          <Button busy={logout.isPending} onClick={() => logout.mutate({})}>
            Sign out this device
          </Button>
          <Button variant="danger" onClick={() => setConfirm(true)}>
            Sign out everywhere
          </Button>
        </>
      }
    >
      <SessionsTable userId="" canRevoke currentSessionId={session.sessionId} />
      {everywhere.error === null ? null : (
        <ErrorState error={everywhere.error} title="You were not signed out" />
      )}
      <ConfirmDialog
        open={confirm}
        title="Sign out everywhere?"
        confirmLabel="Sign out everywhere"
        busy={everywhere.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => everywhere.mutate({ includeOffline: false })}
      >
        <p>Every session of yours ends, this one included. Your password stays the same.</p>
      </ConfirmDialog>
    </Section>
  );
}
