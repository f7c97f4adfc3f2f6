import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import {
  TokenVaultService,
  type VaultEntry,
  VaultEntryState,
  VaultTokenType,
} from "../../../src/gen/gatehouse/v1/token_vault_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";

/**
 * One's own token vault entries (metadata only, never a token), with RevokeOfflineToken: the
 * stored token is revoked at the provider (its offline session ends) and the entry deleted.
 */
export function AccountVaultSection() {
  const invalidate = useInvalidate();
  const [confirm, setConfirm] = useState<VaultEntry | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const entries = useQuery(TokenVaultService.method.listVaultEntries, { userId: "" });
  const revoke = useMutation(TokenVaultService.method.revokeOfflineToken, {
    onSuccess: async () => {
      setNotice(`“${confirm?.purpose}” revoked.`);
      setConfirm(undefined);
      await invalidate(TokenVaultService);
    },
  });
  return (
    <Section
      title="Stored tokens"
      description="Tokens that services keep in Gatehouse's vault to act for you while you are away."
    >
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {entries.isPending ? (
        <Loading label="Loading stored tokens…" />
      ) : entries.isError ? (
        describeError(entries.error).reason === "vault_not_configured" ? (
          <EmptyState title="The token vault is not configured on this server" />
        ) : (
          <ErrorState error={entries.error} />
        )
      ) : entries.data.entries.length === 0 ? (
        <EmptyState title="No stored tokens" />
      ) : (
        <ScrollRegion label="Stored tokens">
          <table className="table">
            <caption className="visually-hidden">Stored tokens</caption>
            <thead>
              <tr>
                <th scope="col">Purpose</th>
                <th scope="col">Kind</th>
                <th scope="col" className="hide-narrow">
                  Stored
                </th>
                <th scope="col" className="hide-narrow">
                  Last used
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.data.entries.map((entry) => (
                <tr key={entry.id}>
                  <td className="break">
                    <code>{entry.purpose}</code>
                    <div className="muted small">{entry.clientId}</div>
                  </td>
                  <td>
                    <Badge>{entry.tokenType === VaultTokenType.OFFLINE ? "offline" : "refresh"}</Badge>
                    {entry.state === VaultEntryState.DEAD ? <Badge tone="danger">needs sign-in</Badge> : null}
                  </td>
                  <td className="hide-narrow">{formatTime(entry.creationDate)}</td>
                  <td className="hide-narrow">{formatTime(entry.lastUsedDate)}</td>
                  <td className="cell-actions">
                    <Button
                      variant="ghost"
                      aria-label={`Revoke ${entry.purpose}`}
                      onClick={() => {
                        revoke.reset();
                        setConfirm(entry);
                      }}
                    >
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <ConfirmDialog
        open={confirm !== undefined}
        title={`Revoke “${confirm?.purpose ?? ""}”?`}
        confirmLabel="Revoke token"
        busy={revoke.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() =>
          revoke.mutate({ userId: "", clientId: confirm!.clientId, purpose: confirm!.purpose })
        }
      >
        <p>The service that stored it can no longer act for you until you grant it again.</p>
        {revoke.error === null ? null : <ErrorState error={revoke.error} title="The token was not revoked" />}
      </ConfirmDialog>
    </Section>
  );
}
