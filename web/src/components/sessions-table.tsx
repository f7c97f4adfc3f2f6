import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { TokenVaultService } from "../../../src/gen/gatehouse/v1/token_vault_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "./button.tsx";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { formatTime } from "./format.ts";
import { EmptyState, ErrorState, Loading } from "./page-states.tsx";
import { ScrollRegion } from "./scroll-region.tsx";

/** A user's sessions (ListSessions) with revoke per session (RevokeSession); `userId` empty: one's own. */
export function SessionsTable(props: {
  userId: string;
  canRevoke: boolean;
  currentSessionId?: string | undefined;
}) {
  const invalidate = useInvalidate();
  const sessions = useQuery(TokenVaultService.method.listSessions, { userId: props.userId });
  const revoke = useMutation(TokenVaultService.method.revokeSession, {
    onSuccess: async () => {
      setConfirm(undefined);
      await invalidate(TokenVaultService);
    },
  });
  const [confirm, setConfirm] = useState<string | undefined>(undefined);
  if (sessions.isPending) return <Loading label="Loading sessions…" />;
  if (sessions.isError) return <ErrorState error={sessions.error} />;
  if (sessions.data.sessions.length === 0) return <EmptyState title="No open sessions" />;
  return (
    <>
      <ScrollRegion label="Sessions">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Last seen</th>
              <th scope="col" className="hide-narrow">
                From
              </th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.data.sessions.map((session) => (
              <tr key={session.id}>
                <td>
                  {formatTime(session.startDate)}
                  {session.offline ? <span className="badge badge-neutral">offline</span> : null}
                  {session.id === props.currentSessionId ? (
                    <span className="badge badge-info">this device</span>
                  ) : null}
                </td>
                <td>{formatTime(session.lastSeenDate ?? session.lastAccessDate)}</td>
                <td className="hide-narrow break">
                  {session.lastSeenIpAddress || session.ipAddress || "—"}
                  <div className="muted small">
                    {session.lastSeenUserAgent || session.userAgent || session.clients.join(", ")}
                  </div>
                </td>
                <td className="cell-actions">
                  {props.canRevoke ? (
                    <Button variant="ghost" onClick={() => setConfirm(session.id)}>
                      Revoke
                    </Button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {revoke.error === null ? null : <ErrorState error={revoke.error} title="The session was not revoked" />}
      <ConfirmDialog
        open={confirm !== undefined}
        title="Revoke this session?"
        confirmLabel="Revoke session"
        busy={revoke.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => revoke.mutate({ sessionId: confirm!, userId: props.userId })}
      >
        <p>Its tokens are refused at once; the device must sign in again.</p>
      </ConfirmDialog>
    </>
  );
}
