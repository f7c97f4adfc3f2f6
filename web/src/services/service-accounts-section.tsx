import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError } from "../api/describe-error.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Section } from "../components/section.tsx";
import { TextField } from "../components/text-field.tsx";

/** Service accounts (client credentials): create and rotate, the secret shown once. */
export function ServiceAccountsSection() {
  const me = useMe();
  const invalidate = useInvalidate();
  const accounts = useQuery(ServiceRegistryService.method.listServiceAccounts, { pageSize: 500 });
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<{ clientId: string; secret: string } | undefined>(undefined);
  /** The id and client id of the account whose secret is being rotated. */
  const [rotating, setRotating] = useState<{ id: string; clientId: string } | undefined>(undefined);
  const create = useMutation(ServiceRegistryService.method.createServiceAccount, {
    onSuccess: async (r) => {
      setName("");
      setSecret({ clientId: r.serviceAccount!.clientId, secret: r.clientSecret });
      await invalidate(ServiceRegistryService);
    },
  });
  const rotate = useMutation(ServiceRegistryService.method.rotateServiceAccountSecret, {
    onSuccess: async (r) => {
      setSecret({ clientId: rotating?.clientId ?? "", secret: r.clientSecret });
      setRotating(undefined);
      await invalidate(ServiceRegistryService);
    },
  });
  const errors = create.error === null ? new Map<string, string>() : describeError(create.error).fields;
  const writable = me.can("services.write");
  return (
    <Section title="Service accounts" description="Machine clients that get tokens with client credentials.">
      {secret === undefined ? null : (
        <div className="secret-once" role="status">
          <p>
            <strong>Copy the secret of {secret.clientId} now:</strong> it is not shown again.
          </p>
          <code className="secret" data-testid="client-secret">
            {secret.secret}
          </code>
          <div className="form-actions">
            <Button onClick={() => void navigator.clipboard.writeText(secret.secret)}>Copy</Button>
            <Button onClick={() => setSecret(undefined)}>Done</Button>
          </div>
        </div>
      )}
      {accounts.isPending ? (
        <Loading />
      ) : accounts.isError ? (
        <ErrorState error={accounts.error} />
      ) : accounts.data.serviceAccounts.length === 0 ? (
        <EmptyState title="No service accounts yet" />
      ) : (
        <ScrollRegion label="Service accounts">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Client id</th>
                <th scope="col">Grants</th>
                <th scope="col" className="hide-narrow">
                  Secret rotated
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.serviceAccounts.map((account) => (
                <tr key={account.id}>
                  <td>
                    <code>{account.clientId}</code>
                    <div className="muted small">{account.description}</div>
                  </td>
                  <td>{account.grants.length}</td>
                  <td className="hide-narrow">{formatTime(account.secretRotateDate)}</td>
                  <td className="cell-actions">
                    {writable ? (
                      <Button
                        variant="ghost"
                        onClick={() => setRotating({ id: account.id, clientId: account.clientId })}
                      >
                        Rotate secret
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      {writable ? (
        <form
          noValidate
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            create.mutate({ name });
          }}
        >
          <TextField
            label="New service account name"
            value={name}
            onChange={setName}
            error={errors.get("name")}
          />
          <Button type="submit" busy={create.isPending}>
            Create service account
          </Button>
        </form>
      ) : null}
      {create.error === null || errors.size > 0 ? null : <ErrorState error={create.error} />}
      {rotate.error === null ? null : <ErrorState error={rotate.error} />}
      <ConfirmDialog
        open={rotating !== undefined}
        title="Rotate the secret?"
        confirmLabel="Rotate secret"
        busy={rotate.isPending}
        onCancel={() => setRotating(undefined)}
        onConfirm={() => rotate.mutate({ serviceAccountId: rotating!.id })}
      >
        <p>The old secret stops working; clients must be given the new one.</p>
      </ConfirmDialog>
    </Section>
  );
}
