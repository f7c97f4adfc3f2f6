import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { useSession } from "../session/session-context.tsx";

/**
 * The user's second factor, and ResetUserMfa for a lost device: TOTP off, recovery codes void,
 * every session ended (under Keycloak, the OTP credential is removed there).
 */
export function UserMfaSection(props: { user: User }) {
  const { user } = props;
  const me = useMe();
  const keycloak = useSession().config.provider === "keycloak";
  const invalidate = useInvalidate();
  const [confirm, setConfirm] = useState(false);
  const [done, setDone] = useState(false);
  const reset = useMutation(UserService.method.resetUserMfa, {
    onSuccess: async () => {
      setConfirm(false);
      setDone(true);
      await invalidate(UserService);
    },
  });
  return (
    <Section
      title="Two-factor sign-in"
      description={
        keycloak
          ? "A one-time-code (OTP) credential in Keycloak."
          : "An authenticator app (TOTP) with recovery codes."
      }
      actions={
        me.can("users.write") && user.totpEnabled ? (
          <Button variant="danger" onClick={() => setConfirm(true)}>
            Reset MFA
          </Button>
        ) : undefined
      }
    >
      <p>
        {user.totpEnabled ? <Badge tone="info">On</Badge> : <Badge>Off</Badge>}{" "}
        <span className="muted">
          {user.totpEnabled
            ? "Signing in needs a code after the password."
            : "The password alone signs in; the user can set up an app on their account page."}
        </span>
      </p>
      {done ? <Notice>MFA reset; the user's sessions ended.</Notice> : null}
      {reset.error === null ? null : <ErrorState error={reset.error} title="MFA was not reset" />}
      <ConfirmDialog
        open={confirm}
        title={`Reset ${user.username}'s MFA?`}
        confirmLabel="Reset MFA"
        busy={reset.isPending}
        onCancel={() => setConfirm(false)}
        onConfirm={() => reset.mutate({ userId: user.id })}
      >
        <p>
          For a lost device: the authenticator{" "}
          {keycloak ? "credential is removed in Keycloak" : "app and the recovery codes stop working"}, and
          every session of the user ends. They sign in with their password alone until they set up a new one.
        </p>
      </ConfirmDialog>
    </Section>
  );
}
