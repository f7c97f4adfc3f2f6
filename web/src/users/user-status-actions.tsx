import { useMutation } from "@connectrpc/connect-query";
import { useState } from "react";
import { type User, UserStatus } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { navigate } from "../router/router.tsx";
import { useSession } from "../session/session-context.tsx";

type Pending = "disable" | "delete" | "revoke" | undefined;

/** Activate, disable (ends every session at once), sign out everywhere, delete, sync to Keycloak. */
export function UserStatusActions(props: { user: User }) {
  const { user } = props;
  const me = useMe();
  const session = useSession();
  const invalidate = useInvalidate();
  const [confirm, setConfirm] = useState<Pending>(undefined);
  const [hard, setHard] = useState(false);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const done = (message: string) => async () => {
    setConfirm(undefined);
    setNotice(message);
    await invalidate(UserService);
  };
  const update = useMutation(UserService.method.updateUser);
  const remove = useMutation(UserService.method.deleteUser);
  const revoke = useMutation(UserService.method.revokeUserSessions);
  const sync = useMutation(UserService.method.syncToKeycloak);
  const error = update.error ?? remove.error ?? revoke.error ?? sync.error;
  const writable = me.can("users.write");
  const active = user.status === UserStatus.ACTIVE;

  return (
    <div className="action-bar">
      {writable && !active ? (
        <Button
          variant="primary"
          busy={update.isPending}
          onClick={() =>
            update.mutate(
              { userId: user.id, status: UserStatus.ACTIVE },
              { onSuccess: done(user.status === UserStatus.LOCKED ? "Unlocked." : "Activated.") },
            )
          }
        >
          {user.status === UserStatus.LOCKED ? "Unlock" : "Activate"}
        </Button>
      ) : null}
      {writable && user.status !== UserStatus.DISABLED ? (
        <Button variant="danger" onClick={() => setConfirm("disable")}>
          Disable
        </Button>
      ) : null}
      {writable ? <Button onClick={() => setConfirm("revoke")}>Sign out everywhere</Button> : null}
      {me.can("users.sync") && session.config.provider === "keycloak" ? (
        <Button
          busy={sync.isPending}
          onClick={() => sync.mutate({ userId: user.id }, { onSuccess: done("Pushed to Keycloak.") })}
        >
          Sync to Keycloak
        </Button>
      ) : null}
      {writable ? (
        <Button variant="danger" onClick={() => setConfirm("delete")}>
          Delete
        </Button>
      ) : null}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {error === null ? null : <ErrorState error={error} title="The action failed" />}

      <ConfirmDialog
        open={confirm === "disable"}
        title={`Disable ${user.username}?`}
        confirmLabel="Disable user"
        busy={update.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() =>
          update.mutate(
            { userId: user.id, status: UserStatus.DISABLED },
            { onSuccess: done("Disabled; every session ended.") },
          )
        }
      >
        <p>They cannot sign in, and every open session of theirs is refused from now on, on every replica.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "revoke"}
        title={`Sign ${user.username} out everywhere?`}
        confirmLabel="End all sessions"
        busy={revoke.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() =>
          revoke.mutate(
            { userId: user.id },
            { onSuccess: async (r) => done(`${r.sessionsEnded} session(s) ended.`)() },
          )
        }
      >
        <p>Every session ends, online and offline. The account and its password stay as they are.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title={`Delete ${user.username}?`}
        confirmLabel={hard ? "Delete permanently" : "Delete"}
        busy={remove.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() =>
          remove.mutate(
            { userId: user.id, hard },
            {
              onSuccess: async () => {
                await invalidate(UserService);
                navigate("/console/users");
              },
            },
          )
        }
      >
        <p>A delete disables the account and keeps its record and audit trail.</p>
        <label className="checkbox">
          <input type="checkbox" checked={hard} onChange={(e) => setHard(e.target.checked)} />
          Remove the record permanently
          {session.config.provider === "keycloak" ? " (and the Keycloak user)" : ""}
        </label>
      </ConfirmDialog>
    </div>
  );
}
